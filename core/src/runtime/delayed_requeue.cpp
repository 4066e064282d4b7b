// delayed_requeue.cpp -- the backoff timer thread.
#include "runtime/delayed_requeue.hpp"

#include <vector>

#include "runtime/abi_status.hpp"
#include "runtime/host_services.hpp"

namespace qplug::detail {

DelayedRequeue::DelayedRequeue(const qplug_driver_v1* vt) : vt_(vt), thread_([this] { run(); }) {}

DelayedRequeue::~DelayedRequeue() { flush(); }

void DelayedRequeue::schedule(qplug_delivery* delivery, std::chrono::milliseconds delay) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      held_.emplace(std::chrono::steady_clock::now() + delay, delivery);
      cv_.notify_one();
      return;
    }
  }
  requeue(delivery);  // already flushed: return it at once rather than hold it forever
}

void DelayedRequeue::flush() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void DelayedRequeue::requeue(qplug_delivery* delivery) {
  qplug_status st = fresh_abi_status();
  if (vt_->settle(delivery, QPLUG_NACK_REQUEUE, &st) != QPLUG_OK && st.code != QPLUG_CANCELED) {
    log_line(QPLUG_LOG_WARN, "consumer", status_from_abi(st, "delayed requeue").to_string());
  }
}

void DelayedRequeue::run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    if (stopping_) break;
    if (held_.empty()) {
      cv_.wait(lock);
      continue;
    }
    const auto due = held_.begin()->first;
    if (std::chrono::steady_clock::now() < due) {
      cv_.wait_until(lock, due);
      continue;
    }
    qplug_delivery* d = held_.begin()->second;
    held_.erase(held_.begin());
    lock.unlock();
    requeue(d);
    lock.lock();
  }
  // Stopping: nothing may stay held (it would never be settled).
  std::vector<qplug_delivery*> rest;
  for (auto& [due, d] : held_) rest.push_back(d);
  held_.clear();
  lock.unlock();
  for (qplug_delivery* d : rest) requeue(d);
}

}  // namespace qplug::detail
