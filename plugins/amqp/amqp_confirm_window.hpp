// amqp_confirm_window.hpp -- the publishes sent on the confirm channel and
// not yet confirmed, addressed by their publish sequence number.
//
// After confirm.select the broker numbers the channel's publishes 1, 2, 3...
// and confirms them with basic.ack / basic.nack, each for one tag or, with
// `multiple`, for every tag up to it. The window holds one entry per
// published message in sending order: entry i has sequence number base + i.
// A confirm settles its entries; settled entries leave from the front only
// (a later message's confirm can arrive before an earlier one's), so the
// front is always the oldest unconfirmed message, which the publish timeout
// watches. A confirm for a tag already gone (below base, or a duplicate) is
// ignored.
//
// Header-only and free of AMQP types: Entry is the driver's record of one
// sent message and needs a `bool settled`; tests use a plain struct
// (tests/drivers/amqp_confirm_window_test.cpp). I/O thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <utility>

namespace qplug::amqp {

template <typename Entry>
class ConfirmWindow {
 public:
  // confirm.select on a new channel: sequence numbers start again at 1.
  // The window must be empty then (its entries were failed or taken).
  void restart() { base_ = 1; }

  // Records the next publish; its sequence number is next_tag().
  void push(Entry e) { entries_.push_back(std::move(e)); }
  uint64_t next_tag() const { return base_ + entries_.size(); }

  // A basic.ack (ok) or basic.nack (!ok) for `tag`: calls settle(entry, ok)
  // for each entry it covers, then drops settled entries from the front.
  // settle() must set entry.settled (it may be called for an entry already
  // settled, by an overlapping multiple confirm, and must ignore it then).
  template <typename Settle>
  void confirm(uint64_t tag, bool multiple, bool ok, Settle&& settle) {
    if (tag < base_) return;
    const uint64_t idx = tag - base_;
    if (multiple) {
      for (uint64_t i = 0; i <= idx && i < entries_.size(); ++i) settle(entries_[i], ok);
    } else if (idx < entries_.size()) {
      settle(entries_[idx], ok);
    }
    while (!entries_.empty() && entries_.front().settled) {
      entries_.pop_front();
      base_++;
    }
  }

  // Everything in the window, for a connection loss (the caller fails the
  // unsettled ones as "in doubt"); the window is empty afterwards.
  std::deque<Entry> take_all() {
    std::deque<Entry> out;
    out.swap(entries_);
    return out;
  }
  void clear() { entries_.clear(); }

  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }
  const Entry& front() const { return entries_.front(); }  // the oldest unconfirmed
  auto begin() { return entries_.begin(); }
  auto end() { return entries_.end(); }

 private:
  std::deque<Entry> entries_;
  uint64_t base_ = 1;  // sequence number of entries_.front()
};

}  // namespace qplug::amqp
