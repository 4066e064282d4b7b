// retry_ledger.hpp -- the retries one subscription scheduled that have not
// come back to it yet, for idle detection (`qplug run --exit-when-idle`).
//
// Why the core counts them itself: between a failed attempt and the next one
// a message may be invisible to the driver's queue counts (held for backoff,
// republished with a delay, or in a driver's hand-off from settle to its
// ready list), and a process that exits then loses it on an in-process
// driver. An entry stays until that message ID is delivered to this
// subscription again or kRetryGrace after it was due: another process
// competing on the queue may take it, and then this one never sees it.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <qplug/runtime.hpp>
#include <string>
#include <string_view>

namespace qplug::detail {

class RetryLedger {
 public:
  using Clock = std::chrono::steady_clock;

  explicit RetryLedger(std::chrono::milliseconds grace = kRetryGrace) : grace_(grace) {}

  // A retry of message `id` is expected back at `due`.
  void scheduled(const std::string& id, Clock::time_point due) {
    std::lock_guard<std::mutex> lock(mu_);
    due_[id] = due + grace_;
    size_.store(due_.size(), std::memory_order_relaxed);
  }

  // Message `id` was delivered again. Lock-free when nothing is outstanding
  // (the common case on the delivery path).
  void delivered(const std::string& id) {
    if (size_.load(std::memory_order_relaxed) == 0) return;
    std::lock_guard<std::mutex> lock(mu_);
    due_.erase(id);
    size_.store(due_.size(), std::memory_order_relaxed);
  }

  // Retries still expected (entries past their grace are forgotten).
  int64_t outstanding(Clock::time_point now = Clock::now()) {
    std::lock_guard<std::mutex> lock(mu_);
    std::erase_if(due_, [now](const auto& kv) { return kv.second <= now; });
    size_.store(due_.size(), std::memory_order_relaxed);
    return static_cast<int64_t>(due_.size());
  }

 private:
  const std::chrono::milliseconds grace_;
  std::mutex mu_;
  std::map<std::string, Clock::time_point, std::less<>> due_;  // id -> forget after
  std::atomic<size_t> size_{0};
};

}  // namespace qplug::detail
