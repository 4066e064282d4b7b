// handoff_queue.hpp -- hands deliveries from the driver's callback thread to
// the consumer's workers.
//
// It needs no capacity limit of its own: the driver never has more than
// `prefetch` unsettled deliveries per subscription, and every item here is
// unsettled, so the queue never holds more than prefetch items. Backpressure
// therefore comes from the broker side, never from buffering here.
//
// Cost per message is what bounds dispatch throughput, so: a worker takes a
// batch per lock acquisition (its fair share of what is queued), and push()
// signals the condition variable only when a worker is asleep and not already
// being woken, so a busy worker costs the driver thread one uncontended lock
// per delivery and no wakeup.
#pragma once

#include <qplug/driver.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
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
    bool wake = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      items_.push_back(item);
      // One wakeup per sleeping worker: a burst of pushes before it runs
      // needs no more (each notify with a waiter is a futex syscall).
      wake = sleepers_ > wakes_pending_;
      if (wake) ++wakes_pending_;
    }
    if (wake) cv_.notify_one();
  }

  // Blocks until items are queued, then moves a batch of them into *out
  // (cleared first): ceil(queued / sharers), so `sharers` workers split a
  // burst instead of one taking it all. False once closed (items stay queued).
  bool pop_batch(std::vector<HandoffItem>* out, size_t sharers) {
    out->clear();
    std::unique_lock<std::mutex> lock(mu_);
    while (!closed_ && items_.empty()) {
      ++sleepers_;
      cv_.wait(lock);
      --sleepers_;
      if (wakes_pending_ > 0) --wakes_pending_;  // ours, or a spurious wakeup: either way one fewer sleeper
    }
    if (closed_) return false;
    const size_t share = (items_.size() + sharers - 1) / std::max<size_t>(sharers, 1);
    out->insert(out->end(), items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(share));
    items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(share));
    // More left than this worker took: let a sleeping one have its share.
    if (!items_.empty() && sleepers_ > wakes_pending_) {
      ++wakes_pending_;
      cv_.notify_one();
    }
    return true;
  }

  // Cheap check between the items of a batch: stop() has begun.
  bool closed() const { return closed_flag_.load(std::memory_order_acquire); }

  // Stops intake: every pop_batch() returns false from now on.
  void close() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
      closed_flag_.store(true, std::memory_order_release);
    }
    cv_.notify_all();
  }

  // Returns items a worker took but will not process (stop() began), in
  // front, so drain() hands them back with the rest. False if drain() already
  // ran: the caller must then settle them itself.
  bool give_back(const HandoffItem* items, size_t count) {
    std::lock_guard<std::mutex> lock(mu_);
    if (drained_) return false;
    items_.insert(items_.begin(), items, items + count);
    return true;
  }

  // Everything still queued; later give_back() calls are refused.
  std::vector<HandoffItem> drain() {
    std::lock_guard<std::mutex> lock(mu_);
    drained_ = true;
    std::vector<HandoffItem> out(items_.begin(), items_.end());
    items_.clear();
    return out;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<HandoffItem> items_;
  int sleepers_ = 0;       // workers waiting in pop_batch()
  int wakes_pending_ = 0;  // notifies sent to sleepers that have not woken yet
  bool closed_ = false;
  bool drained_ = false;
  std::atomic<bool> closed_flag_{false};  // closed_, readable without the lock
};

}  // namespace qplug::detail
