// mqtt_early_acks.hpp -- PUBACKs that arrive before their publish recorded
// the message ID.
//
// The publisher hands a message to libmosquitto without holding its lock
// (holding it made the network thread's PUBACK handling wait on every
// publish: a futex sleep and wake-up per message) and records the returned
// mid afterwards. So a PUBACK can come first. Such a PUBACK is kept here,
// stamped with the number of sends begun when it came; the send that got
// that mid takes it only if it came after the send began. One that came
// earlier is a late PUBACK of a batch that already completed (timeout,
// close) for an earlier use of the same mid, and must not confirm the new
// message. Whatever is kept is dropped once no send is under way: every
// send that could take it has looked.
//
// Not thread-safe: the publisher calls it under its own mutex.
#pragma once

#include <cstdint>
#include <map>
#include <optional>

namespace qplug::mqtt {

class EarlyAcks {
 public:
  // A send begins; returns its stamp.
  uint64_t begin() {
    ++sending_;
    return ++begun_;
  }
  // A PUBACK (or PUBCOMP) found no recorded mid. False: no send is under
  // way, so it belongs to a batch that already completed.
  bool arrived(int mid, int reason) {
    if (sending_ == 0) return false;
    kept_[mid] = Kept{reason, begun_};
    return true;
  }
  // The send stamped `stamp` got `mid`: the reason of its PUBACK if that
  // came before the mid was recorded.
  std::optional<int> take(int mid, uint64_t stamp) {
    auto it = kept_.find(mid);
    if (it == kept_.end() || it->second.stamp < stamp) return std::nullopt;
    const int reason = it->second.reason;
    kept_.erase(it);
    return reason;
  }
  // A send ended (its mid recorded, or it failed); true when it was the
  // last one under way.
  bool end() {
    if (--sending_ > 0) return false;
    kept_.clear();
    return true;
  }
  int sending() const { return sending_; }
  size_t kept() const { return kept_.size(); }

 private:
  struct Kept {
    int reason;
    uint64_t stamp;  // sends begun when it came
  };
  std::map<int, Kept> kept_;
  uint64_t begun_ = 0;
  int sending_ = 0;
};

}  // namespace qplug::mqtt
