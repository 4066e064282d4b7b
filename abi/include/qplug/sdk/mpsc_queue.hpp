// qplug/sdk/mpsc_queue.hpp -- a bounded multi-producer queue drained in bulk
// by one consumer thread.
//
// Network drivers whose client library is single-threaded (hiredis,
// rabbitmq-c, ...) own each connection from one I/O thread. Host threads hand
// work to that thread through this queue; the I/O thread takes EVERYTHING
// that is waiting in one pop_all() and pipelines it in one round trip (group
// commit), so concurrent producers share round trips instead of queueing for
// them. Capacity is counted in caller-chosen weights (e.g. messages), so a
// stalled broker turns into backpressure (FULL) rather than unbounded memory.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <limits>
#include <mutex>
#include <utility>
#include <vector>

namespace qplug::sdk {

template <typename T>
class MpscQueue {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Push { ok, full, closed };

  explicit MpscQueue(size_t capacity = std::numeric_limits<size_t>::max()) : capacity_(capacity) {}

  // Appends `item` of `weight` units, waiting for room until `deadline`.
  // An item heavier than the whole capacity is accepted into an empty queue,
  // so an oversized batch cannot wait forever.
  Push push(T item, size_t weight, Clock::time_point deadline) {
    std::unique_lock lock(mu_);
    auto fits = [&] { return closed_ || used_ == 0 || used_ + weight <= capacity_; };
    if (!fits() && !room_.wait_until(lock, deadline, fits)) return Push::full;
    if (closed_) return Push::closed;
    used_ += weight;
    items_.push_back({std::move(item), weight});
    ready_.notify_one();
    return Push::ok;
  }

  // Moves every waiting item into `out` (appending). Waits until something
  // arrives, the queue is closed, wake() is called or `deadline` passes.
  // Returns false once the queue is closed AND empty.
  bool pop_all(std::vector<T>& out, Clock::time_point deadline) {
    std::unique_lock lock(mu_);
    ready_.wait_until(lock, deadline, [&] { return closed_ || woken_ || !items_.empty(); });
    woken_ = false;
    if (items_.empty()) return !closed_;
    for (auto& entry : items_) out.push_back(std::move(entry.first));
    items_.clear();
    used_ = 0;
    room_.notify_all();
    return true;
  }

  // Makes a waiting pop_all() return early (e.g. a timer or a state change).
  void wake() {
    std::lock_guard lock(mu_);
    woken_ = true;
    ready_.notify_one();
  }

  // Refuses further pushes; pop_all() still returns what is queued.
  void close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    ready_.notify_all();
    room_.notify_all();
  }

  bool closed() const {
    std::lock_guard lock(mu_);
    return closed_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable ready_;
  std::condition_variable room_;
  std::deque<std::pair<T, size_t>> items_;
  size_t capacity_;
  size_t used_ = 0;
  bool closed_ = false;
  bool woken_ = false;
};

}  // namespace qplug::sdk
