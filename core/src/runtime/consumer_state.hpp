// consumer_state.hpp -- one running subscription: the driver consumer, the
// hand-off queue, the worker threads and the settle/retry/dead-letter rules.
//
// Shared (shared_ptr) by the Subscription handle and every worker thread, so
// a worker that outlives stop()'s timeout still has valid state to settle on.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <qplug/runtime.hpp>
#include <string>
#include <thread>
#include <vector>

#include "runtime/ack_batch.hpp"
#include "runtime/delayed_requeue.hpp"
#include "runtime/handoff_queue.hpp"
#include "runtime/rate_limited_log.hpp"
#include "runtime/retry_ledger.hpp"
#include "runtime/router.hpp"

namespace qplug::detail {

class DeliveryImpl;

class ConsumerState : public std::enable_shared_from_this<ConsumerState> {
 public:
  ConsumerState(const Route& route, ConsumerOptions opts, HandlerFactory factory);
  ~ConsumerState();

  // Starts the workers (each builds its handler), then subscribes.
  Status start();
  // Graceful stop; idempotent (later calls return the first result).
  Status stop();

  const std::string& queue_id() const { return queue_id_; }
  const Codec& codec() const { return *codec_; }
  uint64_t processed() const { return processed_.load(std::memory_order_relaxed); }
  int64_t running() const { return running_.load(std::memory_order_relaxed); }
  int64_t retries_outstanding() { return ledger_.outstanding(); }
  SubscriptionCounters counters() const;

  // Settlement, called once per delivery by DeliveryImpl.
  Status settle(qplug_delivery* delivery, int32_t disposition);
  // A failed delivery: another attempt after the backoff (a delayed
  // republish where the driver has QPLUG_CAP_DELAY, else held here), or the
  // dead-letter queue once max_attempts is reached. `expires_at_ms` is the
  // message's ttl deadline (0 = none), carried onto a republished copy.
  Status settle_failure(qplug_delivery* delivery, const Message& message, int64_t expires_at_ms,
                        std::string_view reason);

 private:
  static void on_deliver(void* ud, qplug_delivery* delivery, const qplug_message* message);
  void worker_main(int index);
  // Runs the handler on one delivery; the runtime's own ack goes into *acks.
  void process(DeliveryImpl& delivery, Handler& handler, const HandoffItem& item, AckBatch* acks);
  void send_acks(AckBatch* acks);
  // Items a worker took in its batch but will not process (stop() began).
  void return_unprocessed(const HandoffItem* items, size_t count);
  void worker_exited();
  // Settles an expired delivery without running the handler; true if it was.
  bool expire_if_due(DeliveryImpl& delivery, int64_t now_ms);
  // Publishes a copy to the dead-letter queue with x-reason `why` ("failed",
  // "expired") and, if non-empty, x-error `error`.
  Status dead_letter(const Route& target, const Message& message, std::string_view why, std::string_view error);
  // Another attempt of a failed delivery after `delay`.
  Status retry_later(qplug_delivery* delivery, const Message& message, int64_t expires_at_ms,
                     std::chrono::milliseconds delay);
  Status republish_delayed(const Message& message, int64_t expires_at_ms, std::chrono::milliseconds delay);
  std::chrono::milliseconds backoff_for(uint32_t attempts) const;
  Status subscribe_driver();
  // Waits for the workers up to the shutdown timeout; false if some are stuck.
  bool wait_for_workers();

  // Copied from the route so late settles never touch runtime memory.
  const Route* route_;
  const qplug_driver_v1* vt_;
  const Codec* codec_;
  std::string queue_id_;
  std::shared_ptr<std::atomic<int>> stragglers_;
  ConsumerOptions opts_;
  HandlerFactory factory_;

  HandoffQueue queue_;
  std::optional<DelayedRequeue> delayed_;  // backoff held in memory: drivers without QPLUG_CAP_DELAY
  bool driver_delays_ = false;             // QPLUG_CAP_DELAY: backoff is a delayed republish
  qplug_consumer* consumer_ = nullptr;
  std::vector<std::thread> workers_;

  std::mutex mu_;  // guards the fields below
  std::condition_variable cv_;
  int ready_ = 0;  // workers that finished building their handler
  int live_workers_ = 0;
  std::string factory_error_;
  bool abandoned_ = false;  // stop() gave up waiting; exiting workers count down stragglers
  std::atomic<bool> stopping_{false};

  std::mutex stop_mu_;
  bool stopped_ = false;
  Status stop_result_;

  std::atomic<uint64_t> processed_{0};
  std::atomic<int64_t> running_{0};
  std::atomic<uint64_t> failed_{0};
  std::atomic<uint64_t> retried_{0};
  std::atomic<uint64_t> dead_lettered_{0};
  std::atomic<uint64_t> expired_{0};
  RetryLedger ledger_;
  RateLimitedLog failure_log_;  // one line per handler failure, rate-limited
};

}  // namespace qplug::detail
