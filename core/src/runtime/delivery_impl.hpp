// delivery_impl.hpp -- the Delivery a handler sees. One per worker, reused
// for every delivery the worker handles (buffers keep their capacity).
#pragma once

#include <atomic>
#include <qplug/runtime.hpp>

#include "runtime/consumer_state.hpp"

namespace qplug::detail {

class DeliveryImpl final : public Delivery {
 public:
  explicit DeliveryImpl(ConsumerState* state) : state_(state) {}

  // Starts a new delivery: copies the borrowed message, clears settlement.
  void reset(const HandoffItem& item);

  const Message& message() const override { return message_; }
  const std::string& queue_id() const override { return state_->queue_id(); }
  uint32_t attempts() const override { return message_.attempts; }
  Result<Value> payload() const override;
  Status ack() override;
  Status nack(std::string_view reason = {}) override;
  bool settled() const override { return settled_.load(std::memory_order_acquire); }

  // For the runtime's own ack: claims the delivery (true for the first
  // caller only) so the caller can settle `handle()` later, e.g. in an AckBatch.
  bool claim_for_runtime() { return claim(); }
  qplug_delivery* handle() const { return handle_; }
  // The ttl deadline the core stamped at publish (wall ms), 0 = none.
  int64_t expires_at_ms() const { return expires_at_ms_; }

 private:
  // True for the first caller only.
  bool claim() { return !settled_.exchange(true, std::memory_order_acq_rel); }

  ConsumerState* state_;
  qplug_delivery* handle_ = nullptr;
  Message message_;  // x-qplug-* headers removed (the core's bookkeeping)
  int64_t expires_at_ms_ = 0;
  std::atomic<bool> settled_{true};
};

}  // namespace qplug::detail
