// handoff_queue.hpp -- hands deliveries from the driver's callback thread to
// the consumer's workers.
//
// It needs no capacity limit of its own: the driver never has more than
// `prefetch` unsettled deliveries per subscription, and every item here is
// unsettled, so the queue never holds more than prefetch items. Backpressure
// therefore comes from the broker side, never from buffering here.
#pragma once

#include <qplug/driver.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <vector>

namespace qplug::detail {

struct HandoffItem {
  qplug_delivery* delivery;
  const qplug_message* message;  // valid until the delivery is settled
};

class HandoffQueue {
 public:
  // Always stores the item, also after close(): stop() drains what is left.
  void push(HandoffItem item) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      items_.push_back(item);
    }
    cv_.notify_one();
  }

  // Blocks for the next item; false once closed (remaining items stay queued).
  bool pop(HandoffItem* out) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return closed_ || !items_.empty(); });
    if (closed_) return false;
    *out = items_.front();
    items_.pop_front();
    return true;
  }

  // Stops intake: every pop() returns false from now on.
  void close() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
    }
    cv_.notify_all();
  }

  std::vector<HandoffItem> drain() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<HandoffItem> out(items_.begin(), items_.end());
    items_.clear();
    return out;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<HandoffItem> items_;
  bool closed_ = false;
};

}  // namespace qplug::detail
