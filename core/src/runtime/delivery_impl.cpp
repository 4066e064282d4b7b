// delivery_impl.cpp -- single-shot settlement of one delivery.
#include "runtime/delivery_impl.hpp"

#include "runtime/abi_message.hpp"
#include "runtime/core_headers.hpp"

namespace qplug::detail {

void DeliveryImpl::reset(const HandoffItem& item) {
  handle_ = item.delivery;
  copy_from_abi(*item.message, &message_);
  // Attempts made before a retry copy was republished count too (contract B).
  const CoreHeaderValues core = take_core_headers(&message_.headers);
  message_.attempts += core.prior_attempts;
  expires_at_ms_ = core.expires_at_ms;
  settled_.store(false, std::memory_order_release);
}

Result<Value> DeliveryImpl::payload() const {
  auto v = state_->codec().decode(message_.body, message_.content_type);
  if (!v.ok()) {
    return Status(v.status().kind(), "message " + message_.id + " on '" + state_->queue_id() +
                                         "': cannot decode payload: " + v.status().message());
  }
  return v;
}

Status DeliveryImpl::ack() {
  if (!claim()) return invalid_error("already settled");
  return state_->settle(handle_, QPLUG_ACK);
}

Status DeliveryImpl::nack(std::string_view reason) {
  if (!claim()) return invalid_error("already settled");
  return state_->settle_failure(handle_, message_, expires_at_ms_,
                                reason.empty() ? std::string_view("nacked by handler") : reason);
}

}  // namespace qplug::detail
