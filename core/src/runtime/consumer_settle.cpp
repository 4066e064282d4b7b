// consumer_settle.cpp -- what happens to a delivery after its handler:
// ack, another attempt after the backoff, or the dead-letter queue once
// max_attempts is reached; and expired messages, which no handler sees.
#include <algorithm>
#include <cmath>

#include "runtime/abi_status.hpp"
#include "runtime/consumer_state.hpp"
#include "runtime/core_headers.hpp"
#include "runtime/delivery_impl.hpp"
#include "runtime/host_services.hpp"
#include "runtime/publish_path.hpp"

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

void erase_header(Headers* headers, std::string_view key) {
  std::erase_if(*headers, [key](const auto& kv) { return kv.first == key; });
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

Status ConsumerState::dead_letter(const Route& target, const Message& message, std::string_view why,
                                  std::string_view error) {
  Message copy = message;
  copy.attempts = 0;
  // The dead-letter copy is for people: it is neither delayed nor expiring.
  erase_header(&copy.headers, kDelayHeader);
  erase_header(&copy.headers, kTtlHeader);
  set_header(&copy.headers, "x-reason", std::string(why));
  if (!error.empty()) {
    set_header(&copy.headers, "x-error", std::string(error));
    set_header(&copy.headers, "x-last-error", std::string(error));  // the pre-0.x name, kept for readers of it
  }
  set_header(&copy.headers, "x-original-queue", queue_id_);
  set_header(&copy.headers, "x-attempts", static_cast<int64_t>(message.attempts));
  Status s = publish_on_route(target, &copy, 1, PublishOptions{});
  if (s.ok()) dead_lettered_.fetch_add(1, std::memory_order_relaxed);
  return s;
}

bool ConsumerState::expire_if_due(DeliveryImpl& delivery, int64_t now_ms) {
  if (now_ms < delivery.expires_at_ms() || !delivery.claim_for_runtime()) return false;
  expired_.fetch_add(1, std::memory_order_relaxed);
  const Message& m = delivery.message();
  if (route_->dead_letter_configured) {
    Status s = dead_letter(*route_->dead_letter, m, "expired", {});
    if (!s.ok()) {
      log_line(QPLUG_LOG_ERROR, "consumer",
               "expired message " + m.id + " from '" + queue_id_ + "': dead-letter publish to '" +
                   route_->dead_letter->entry->id + "' failed, requeued instead: " + s.to_string());
      settle(delivery.handle(), QPLUG_NACK_REQUEUE).ignore();
      return true;
    }
  } else {
    failure_log_.write(QPLUG_LOG_WARN, "message " + m.id + " on '" + queue_id_ +
                                           "' expired (ttl) before it was handled: dropped (no dead_letter.queue)");
  }
  settle(delivery.handle(), QPLUG_ACK).ignore();
  return true;
}

Status ConsumerState::republish_delayed(const Message& message, int64_t expires_at_ms,
                                        std::chrono::milliseconds delay) {
  Message copy = message;  // same ID and headers: the retry is the same message
  copy.attempts = 0;
  set_header(&copy.headers, kDelayHeader, static_cast<int64_t>(delay.count()));
  set_header(&copy.headers, kAttemptsHeader, static_cast<int64_t>(message.attempts));
  if (expires_at_ms != 0) set_header(&copy.headers, kExpiresAtHeader, expires_at_ms);
  return publish_on_route(*route_, &copy, 1, PublishOptions{});
}

Status ConsumerState::retry_later(qplug_delivery* delivery, const Message& message, int64_t expires_at_ms,
                                  std::chrono::milliseconds delay) {
  retried_.fetch_add(1, std::memory_order_relaxed);
  ledger_.scheduled(message.id, RetryLedger::Clock::now() + delay);
  if (delay.count() > 0 && driver_delays_ && !stopping_.load()) {
    // The broker holds the retry (durable, no prefetch slot taken), then the original goes.
    Status s = republish_delayed(message, expires_at_ms, delay);
    if (s.ok()) return settle(delivery, QPLUG_ACK);
    log_line(QPLUG_LOG_ERROR, "consumer",
             "message " + message.id + " from '" + queue_id_ +
                 "': delayed republish for the retry failed, requeued at once instead: " + s.to_string());
    return settle(delivery, QPLUG_NACK_REQUEUE);
  }
  if (delay.count() > 0 && delayed_ && !stopping_.load()) {
    delayed_->schedule(delivery, delay);  // held unsettled: costs a prefetch slot (qplug check says so)
    return ok_status();
  }
  return settle(delivery, QPLUG_NACK_REQUEUE);
}

Status ConsumerState::settle_failure(qplug_delivery* delivery, const Message& message, int64_t expires_at_ms,
                                     std::string_view reason) {
  {
    // A handler that outlived stop(): the runtime may be gone, so touch only
    // the driver (which is kept open while stragglers remain) and requeue.
    std::lock_guard<std::mutex> lock(mu_);
    if (abandoned_) return settle(delivery, QPLUG_NACK_REQUEUE);
  }
  failed_.fetch_add(1, std::memory_order_relaxed);
  const int max = route_->max_attempts;
  const std::string attempt =
      "attempt " + std::to_string(message.attempts) + (max > 0 ? '/' + std::to_string(max) : std::string());
  const std::string head =
      "handler failed on '" + queue_id_ + "' message " + message.id + " " + attempt + ": " + std::string(reason);
  if (max > 0 && message.attempts >= static_cast<uint32_t>(max) && route_->dead_letter != nullptr) {
    const Route& target = *route_->dead_letter;
    Status s = dead_letter(target, message, "failed", reason);
    if (s.ok()) {
      failure_log_.write(QPLUG_LOG_WARN, head + "; attempts exhausted, moved to '" + target.entry->id + "'");
      return settle(delivery, QPLUG_ACK);
    }
    log_line(QPLUG_LOG_ERROR, "consumer",
             head + "; dead-letter publish to '" + target.entry->id + "' failed, requeued instead: " + s.to_string());
    Status r = settle(delivery, QPLUG_NACK_REQUEUE);
    return r.ok() ? s : r;
  }
  const auto delay = backoff_for(message.attempts);
  failure_log_.write(QPLUG_LOG_WARN, head + "; retry in " + std::to_string(delay.count()) + "ms");
  return retry_later(delivery, message, expires_at_ms, delay);
}

}  // namespace qplug::detail
