// amqp_ack_coalescer.hpp -- the acks one consumer's settles produce, held a
// little so that one multiple-ack frame covers many settles.
//
// A worker settling one message at a time would otherwise cost the broker one
// basic.ack frame per message. Held acks fall due (due()) once every delivery
// in flight is settled, once the prefetch is used up (the broker waits on
// them), once a quarter of the prefetch is settled, or after kDelayNs.
// Holding an ack never loses a message: at worst it is redelivered after a
// connection loss. take() turns the held tags into the fewest frames: every
// tag below the lowest still-unsettled delivery is covered by one
// multiple-ack, the tags above it are acked one by one.
//
// No AMQP types, no I/O: the I/O thread owns one per consumer, sends what
// take() returns, and tests drive it without a broker
// (tests/drivers/amqp_ack_coalescer_test.cpp).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <vector>

namespace qplug::amqp {

class AckCoalescer {
 public:
  // Acks settled one by one are held this long at most.
  static constexpr int64_t kDelayNs = 1000000;

  // One basic.ack frame: `multiple` acks every tag up to and including `tag`.
  struct Frame {
    uint64_t tag;
    bool multiple;
  };

  bool empty() const { return pending_.empty(); }
  size_t size() const { return pending_.size(); }

  // A settle with ACK of delivery `tag` at monotonic time `now_ns`.
  void add(uint64_t tag, int64_t now_ns) {
    if (pending_.empty()) oldest_ns_ = now_ns;
    pending_.push_back(tag);
  }

  // Whether the held acks should be sent now. `unsettled`: deliveries of
  // this consumer not yet acked on the wire (held ones included).
  bool due(size_t unsettled, uint32_t prefetch, int64_t now_ns) const {
    if (pending_.empty()) return false;
    if (pending_.size() >= unsettled) return true;
    if (unsettled >= prefetch) return true;
    if (pending_.size() >= std::max<size_t>(1, prefetch / 4)) return true;
    return now_ns - oldest_ns_ >= kDelayNs;
  }

  // The frames that ack every held tag, in sending order (single acks
  // first, the multiple-ack last); the held tags leave `unsettled` and the
  // coalescer is empty afterwards.
  std::vector<Frame> take(std::set<uint64_t>& unsettled) {
    std::vector<Frame> frames;
    std::sort(pending_.begin(), pending_.end());
    // Every tag below `lowest_open` is settled as ack: one multiple-ack covers them.
    uint64_t lowest_open = UINT64_MAX;
    for (uint64_t t : unsettled) {
      if (!std::binary_search(pending_.begin(), pending_.end(), t)) {
        lowest_open = t;
        break;
      }
    }
    uint64_t batch_top = 0;
    size_t batch_count = 0;
    for (uint64_t t : pending_) {
      if (t < lowest_open) {
        batch_top = t;
        batch_count++;
      } else {
        frames.push_back({t, false});
      }
      unsettled.erase(t);
    }
    if (batch_count > 0) frames.push_back({batch_top, batch_count > 1});
    pending_.clear();
    return frames;
  }

  // Drops the held acks (the channel is gone; the broker redelivers).
  void clear() { pending_.clear(); }

 private:
  std::vector<uint64_t> pending_;
  int64_t oldest_ns_ = 0;  // when pending_ became non-empty
};

}  // namespace qplug::amqp
