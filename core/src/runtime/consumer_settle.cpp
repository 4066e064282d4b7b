// consumer_settle.cpp -- what happens to a delivery after its handler:
// ack, requeue after backoff, dead-letter after max attempts, or reject.
#include "runtime/abi_status.hpp"
#include "runtime/consumer_state.hpp"
#include "runtime/host_services.hpp"
#include "runtime/publish_path.hpp"

#include <algorithm>
#include <cmath>

namespace qplug::detail {
namespace {

void set_header(Headers* headers, std::string_view key, HeaderValue value) {
  for (auto& [k, v] : *headers) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  headers->emplace_back(std::string(key), std::move(value));
}

}  // namespace

Status ConsumerState::settle(qplug_delivery* delivery, int32_t disposition) {
  qplug_status st = fresh_abi_status();
  if (vt_->settle(delivery, disposition, &st) == QPLUG_OK) return ok_status();
  if (st.code == QPLUG_OK) st.code = QPLUG_INTERNAL;
  // CANCELED/UNAVAILABLE: the broker has (or will get) the message back.
  return status_from_abi(st, "settle on '" + queue_id_ + "'");
}

std::chrono::milliseconds ConsumerState::backoff_for(uint32_t attempts) const {
  const RetrySpec& r = route_->entry->retry;
  if (r.initial_backoff_ms <= 0) return std::chrono::milliseconds(0);
  const double factor = std::pow(std::max(1.0, r.multiplier), static_cast<double>(attempts > 0 ? attempts - 1 : 0));
  const double ms = std::min(static_cast<double>(std::max(r.max_backoff_ms, r.initial_backoff_ms)),
                             static_cast<double>(r.initial_backoff_ms) * factor);
  return std::chrono::milliseconds(static_cast<int64_t>(ms));
}

Status ConsumerState::dead_letter(const Message& message, std::string_view reason) {
  Message copy = message;
  copy.attempts = 0;
  set_header(&copy.headers, "x-last-error", std::string(reason));
  set_header(&copy.headers, "x-original-queue", queue_id_);
  set_header(&copy.headers, "x-attempts", static_cast<int64_t>(message.attempts));
  return publish_on_route(*route_->dead_letter, &copy, 1, PublishOptions{});
}

Status ConsumerState::settle_failure(qplug_delivery* delivery, const Message& message, std::string_view reason) {
  {
    // A handler that outlived stop(): the runtime may be gone, so touch only
    // the driver (which is kept open while stragglers remain) and requeue.
    std::lock_guard<std::mutex> lock(mu_);
    if (abandoned_) return settle(delivery, QPLUG_NACK_REQUEUE);
  }
  const int max = route_->max_attempts;
  if (max > 0 && message.attempts >= static_cast<uint32_t>(max)) {
    if (route_->dead_letter != nullptr) {
      Status s = dead_letter(message, reason);
      if (s.ok()) return settle(delivery, QPLUG_ACK);
      log_line(QPLUG_LOG_ERROR, "consumer",
               "message " + message.id + " from '" + queue_id_ + "': dead-letter publish to '" +
                   route_->dead_letter->entry->id + "' failed, requeued instead: " + s.to_string());
      Status r = settle(delivery, QPLUG_NACK_REQUEUE);
      return r.ok() ? s : r;
    }
    // No dead-letter queue: reject (drivers with native dead-lettering keep it). Never silent.
    log_line(QPLUG_LOG_ERROR, "consumer",
             "message " + message.id + " from '" + queue_id_ + "' rejected after " + std::to_string(message.attempts) +
                 " attempts (no dead_letter.queue configured): " + std::string(reason));
    return settle(delivery, QPLUG_REJECT);
  }
  const auto delay = backoff_for(message.attempts);
  if (delay.count() > 0 && delayed_ && !stopping_.load()) {
    delayed_->schedule(delivery, delay);
    return ok_status();
  }
  return settle(delivery, QPLUG_NACK_REQUEUE);
}

}  // namespace qplug::detail
