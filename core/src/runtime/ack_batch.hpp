// ack_batch.hpp -- acks a worker owes the driver, sent together.
//
// Why: a driver waiting for prefetch room is woken by every settle. Acking
// each message the moment its handler returns therefore costs a wakeup (a
// futex syscall and a context switch) per message, which dominated dispatch
// time with short handlers. Sending the acks of a short run of messages
// together lets one wakeup refill many slots. Only acks the runtime itself
// makes (handler returned OK without settling) wait here; a handler's own
// ack()/nack() and every failure settle at once.
//
// The delay is bounded: the worker sends them when it holds kMaxCount, when
// the oldest is kMaxDelay old, after any handler that ran kSlowHandler or
// longer (slow handlers gain nothing from coalescing, so they ack at once),
// at the end of every batch it took (so before it can block waiting for
// more), and before it exits. The worst case is a run of fast handlers followed
// by an unexpectedly slow one: their acks wait for it.
#pragma once

#include <qplug/driver.h>

#include <chrono>
#include <cstddef>
#include <vector>

namespace qplug::detail {

class AckBatch {
 public:
  static constexpr size_t kMaxCount = 64;
  static constexpr std::chrono::milliseconds kMaxDelay{2};
  static constexpr std::chrono::microseconds kSlowHandler{200};
  using Clock = std::chrono::steady_clock;

  AckBatch() { handles_.reserve(kMaxCount); }

  void add(qplug_delivery* handle) { handles_.push_back(handle); }

  // Time to send, `now` being the end of a handler that started at `started`.
  // (The first due() call after an add() dates the batch: no extra clock read.)
  bool due(Clock::time_point started, Clock::time_point now) {
    if (handles_.empty()) return false;
    if (!dated_) {
      oldest_ = now;
      dated_ = true;
    }
    return handles_.size() >= kMaxCount || now - oldest_ >= kMaxDelay || now - started >= kSlowHandler;
  }

  bool empty() const { return handles_.empty(); }
  const std::vector<qplug_delivery*>& handles() const { return handles_; }
  void clear() {
    handles_.clear();
    dated_ = false;
  }

 private:
  std::vector<qplug_delivery*> handles_;
  Clock::time_point oldest_;  // when the first of handles_ was found pending
  bool dated_ = false;
};

}  // namespace qplug::detail
