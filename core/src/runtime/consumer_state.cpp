// consumer_state.cpp -- worker pool lifecycle of one subscription: start,
// the worker loop, and graceful stop (DESIGN.md section 4).
#include "runtime/consumer_state.hpp"

#include <algorithm>
#include <qplug/sdk/versioned.hpp>

#include "runtime/abi_message.hpp"
#include "runtime/abi_status.hpp"
#include "runtime/core_headers.hpp"
#include "runtime/delivery_impl.hpp"
#include "runtime/host_services.hpp"

namespace qplug::detail {

ConsumerState::ConsumerState(const Route& route, ConsumerOptions opts, HandlerFactory factory)
    : route_(&route),
      vt_(route.driver->vt()),
      codec_(route.codec),
      queue_id_(route.entry->id),
      stragglers_(route.driver->stragglers()),
      opts_(std::move(opts)),
      factory_(std::move(factory)),
      failure_log_("consumer") {
  if (opts_.name.empty()) opts_.name = unique_consumer_name(queue_id_);
  driver_delays_ = (route.driver->capabilities() & QPLUG_CAP_DELAY) != 0;
  if (route.entry->retry.initial_backoff_ms > 0 && !driver_delays_) delayed_.emplace(vt_);
}

SubscriptionCounters ConsumerState::counters() const {
  SubscriptionCounters c;
  c.processed = processed_.load(std::memory_order_relaxed);
  c.failed = failed_.load(std::memory_order_relaxed);
  c.retried = retried_.load(std::memory_order_relaxed);
  c.dead_lettered = dead_lettered_.load(std::memory_order_relaxed);
  c.expired = expired_.load(std::memory_order_relaxed);
  return c;
}

ConsumerState::~ConsumerState() {
  // Only reached once no worker holds a reference, so threads are gone or detached.
  for (std::thread& t : workers_) {
    if (t.joinable()) t.detach();
  }
}

Status ConsumerState::start() {
  live_workers_ = opts_.concurrency;
  workers_.reserve(static_cast<size_t>(opts_.concurrency));
  auto self = shared_from_this();
  for (int i = 0; i < opts_.concurrency; ++i) {
    workers_.emplace_back([self, i] { self->worker_main(i); });
  }
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return ready_ == opts_.concurrency; });
  }
  Status s =
      factory_error_.empty() ? subscribe_driver() : invalid_error("consumer on '" + queue_id_ + "': " + factory_error_);
  if (!s.ok()) {
    stop().ignore();
    return s;
  }
  return ok_status();
}

Status ConsumerState::subscribe_driver() {
  const std::vector<qplug_kv> kvs = to_abi_kvs(opts_.driver_options);
  auto o = qplug::sdk::versioned<qplug_subscribe_options>();
  o.prefetch = static_cast<uint32_t>(opts_.prefetch);
  o.group = to_abi_str(opts_.group);
  o.consumer_name = to_abi_str(opts_.name);
  o.options = kvs.empty() ? nullptr : kvs.data();
  o.option_count = kvs.size();
  qplug_status st = fresh_abi_status();
  consumer_ = vt_->subscribe(route_->queue, &o, &ConsumerState::on_deliver, this, &st);
  if (consumer_ == nullptr) {
    if (st.code == QPLUG_OK) st.code = QPLUG_INTERNAL;
    return status_from_abi(st, "subscribe to '" + queue_id_ + "'");
  }
  return ok_status();
}

void ConsumerState::on_deliver(void* ud, qplug_delivery* delivery, const qplug_message* message) {
  // Runs on a driver thread: hand over and return at once. Never throws into C
  // (push only allocates; if even that fails the delivery stays unsettled and
  // the broker gets it back at unsubscribe).
  try {
    static_cast<ConsumerState*>(ud)->queue_.push(HandoffItem{delivery, message});
  } catch (...) {
    log_line(QPLUG_LOG_ERROR, "consumer", "out of memory handing over a delivery");
  }
}

void ConsumerState::worker_main(int index) {
  std::optional<Handler> handler;
  std::string error;
  try {
    auto built = factory_(index);
    if (built.ok()) {
      handler = std::move(*built);
    } else {
      error = built.status().message();
    }
  } catch (const std::exception& e) {
    error = std::string("handler factory threw: ") + e.what();
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!error.empty() && factory_error_.empty()) factory_error_ = "worker " + std::to_string(index) + ": " + error;
    ++ready_;
  }
  cv_.notify_all();
  if (handler) {
    DeliveryImpl delivery(this);
    AckBatch acks;
    std::vector<HandoffItem> batch;
    batch.reserve(std::min<size_t>(static_cast<size_t>(opts_.prefetch), 1024));  // grows if ever needed
    const size_t sharers = static_cast<size_t>(opts_.concurrency);
    while (queue_.pop_batch(&batch, sharers)) {
      size_t next = 0;
      // One clock read per message: each handler starts when the previous ended.
      auto started = AckBatch::Clock::now();
      // stop() began: what this worker took but has not started goes back.
      while (next < batch.size() && (next == 0 || !queue_.closed())) {
        process(delivery, *handler, batch[next++], &acks);
        const auto now = AckBatch::Clock::now();
        if (acks.due(started, now)) send_acks(&acks);
        started = now;
      }
      send_acks(&acks);  // before pop_batch() may block
      if (next < batch.size()) return_unprocessed(batch.data() + next, batch.size() - next);
    }
  }
  handler.reset();  // destroy per-worker state (e.g. a lua_State) on its own thread
  worker_exited();
}

void ConsumerState::process(DeliveryImpl& delivery, Handler& handler, const HandoffItem& item, AckBatch* acks) {
  running_.fetch_add(1, std::memory_order_relaxed);  // before the ledger forgets it: idle never sees a gap
  delivery.reset(item);
  ledger_.delivered(delivery.message().id);
  if (delivery.expires_at_ms() != 0 && expire_if_due(delivery, wall_clock_ms())) {
    running_.fetch_sub(1, std::memory_order_relaxed);
    return;
  }
  if (opts_.auto_ack) {
    Status s = delivery.ack();
    if (!s.ok()) log_line(QPLUG_LOG_WARN, "consumer", "auto-ack on '" + queue_id_ + "': " + s.to_string());
  }
  Status result;
  try {
    result = handler(delivery);
  } catch (const std::exception& e) {
    result = internal_error(std::string("handler threw: ") + e.what());
  } catch (...) {
    result = internal_error("handler threw a non-standard exception");
  }
  if (result.ok() && delivery.claim_for_runtime()) {
    acks->add(delivery.handle());
  } else if (!delivery.settled()) {
    Status s = delivery.nack(result.message());
    if (!s.ok() && s.kind() != ErrorKind::CANCELED) {
      log_line(QPLUG_LOG_WARN, "consumer", "settle on '" + queue_id_ + "': " + s.to_string());
    }
  } else if (!result.ok() && opts_.auto_ack) {
    failed_.fetch_add(1, std::memory_order_relaxed);
    failure_log_.write(QPLUG_LOG_WARN, "handler failed on auto-acked message " + delivery.message().id + " from '" +
                                           queue_id_ +
                                           "' (not retried: auto_ack is at-most-once): " + result.to_string());
  }
  running_.fetch_sub(1, std::memory_order_relaxed);
  processed_.fetch_add(1, std::memory_order_relaxed);
}

void ConsumerState::send_acks(AckBatch* acks) {
  for (qplug_delivery* handle : acks->handles()) {
    Status s = settle(handle, QPLUG_ACK);
    if (!s.ok() && s.kind() != ErrorKind::CANCELED) {
      log_line(QPLUG_LOG_WARN, "consumer", "settle on '" + queue_id_ + "': " + s.to_string());
    }
  }
  acks->clear();
}

void ConsumerState::return_unprocessed(const HandoffItem* items, size_t count) {
  // Normally stop() drains them after unsubscribing (queue_.drain()). A worker
  // that outlived stop() comes here after that drain: requeue them directly.
  if (queue_.give_back(items, count)) return;
  for (size_t i = 0; i < count; ++i) settle(items[i].delivery, QPLUG_NACK_REQUEUE).ignore();
}

void ConsumerState::worker_exited() {
  std::lock_guard<std::mutex> lock(mu_);
  --live_workers_;
  if (abandoned_) stragglers_->fetch_sub(1);
  cv_.notify_all();
}

bool ConsumerState::wait_for_workers() {
  std::unique_lock<std::mutex> lock(mu_);
  const bool all = cv_.wait_for(lock, opts_.shutdown_timeout, [this] { return live_workers_ == 0; });
  if (!all) {
    abandoned_ = true;
    stragglers_->fetch_add(live_workers_);
    log_line(QPLUG_LOG_ERROR, "consumer",
             "'" + queue_id_ + "': " + std::to_string(live_workers_) + " handler(s) still running after " +
                 std::to_string(opts_.shutdown_timeout.count()) +
                 "ms shutdown timeout; their messages are settled when they finish");
  }
  return all;
}

Status ConsumerState::stop() {
  std::lock_guard<std::mutex> stop_lock(stop_mu_);
  if (stopped_) return stop_result_;
  stopped_ = true;
  stopping_.store(true);

  // 1. Stop intake; in-flight handlers run to completion (bounded).
  queue_.close();
  if (wait_for_workers()) {
    for (std::thread& t : workers_) t.join();
  } else {
    stop_result_ = timeout_error("consumer on '" + queue_id_ + "': handlers still running after shutdown timeout");
    for (std::thread& t : workers_) t.detach();
  }
  workers_.clear();
  // 2. Messages held for retry backoff go back now.
  if (delayed_) delayed_->flush();
  failure_log_.flush();
  // 3. Quiesce the driver, then return every prefetched, unprocessed delivery.
  //    (Requeueing before unsubscribe would just have them delivered to us again.)
  if (consumer_ != nullptr) {
    qplug_status st = fresh_abi_status();
    if (vt_->unsubscribe(consumer_, &st) != QPLUG_OK) {
      log_line(QPLUG_LOG_WARN, "consumer", status_from_abi(st, "unsubscribe from '" + queue_id_ + "'").to_string());
    }
  }
  for (const HandoffItem& item : queue_.drain()) settle(item.delivery, QPLUG_NACK_REQUEUE).ignore();
  if (consumer_ != nullptr) {
    vt_->consumer_free(consumer_);
    consumer_ = nullptr;
  }
  return stop_result_;
}

}  // namespace qplug::detail
