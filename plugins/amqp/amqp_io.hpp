// amqp_io.hpp -- the amqp driver's connection I/O thread.
//
// librabbitmq is not thread-safe, so ONE thread owns the connection and does
// everything on it: publishing (pipelined in a confirm window, every waiting
// publisher's messages sent in one pass = group commit), reading confirms,
// returns and deliveries, acking (multiple-ack where safe), declaring, and
// reconnecting with backoff (re-declaring the topology, re-subscribing).
// Host threads talk to it only through Command objects pushed on an
// sdk::CommandQueue whose eventfd the thread poll()s beside the socket.
#pragma once

#include <qplug/driver.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <qplug/sdk/backoff.hpp>
#include <qplug/sdk/command_queue.hpp>
#include <qplug/sdk/host_log.hpp>
#include <qplug/sdk/message.hpp>
#include <qplug/sdk/waiter.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "amqp_ack_coalescer.hpp"
#include "amqp_config.hpp"
#include "amqp_confirm_window.hpp"
#include "amqp_connection.hpp"

namespace qplug::amqp {
class Io;
}

struct qplug_queue {
  std::string name;
  std::string exchange;       // the fanout exchange publishes go to (amqp_topology.hpp)
  std::string publish_where;  // "amqp: publish to '<name>'", for check_batch's errors
  qplug::amqp::QueueOptions options;
  qplug::amqp::Io* io = nullptr;
  std::atomic<bool> priority_warned{false};  // "RabbitMQ ignores priority here" logged once
  // I/O thread only: delay level (ms) -> when its queue was last declared on
  // this connection (see kDelayRedeclareMs).
  std::map<int64_t, int64_t> delay_declared_ns;
};

namespace qplug::amqp {

class Io;

// One publish() call in the pipeline. Touched only by the I/O thread once
// submitted; completes exactly once through done / waiter / internal.
struct PublishBatch {
  qplug_queue* queue = nullptr;
  std::vector<sdk::OwnedMessage> msgs;
  uint32_t attempts = 0;   // >1 only for republish-on-nack
  bool immediate = false;  // a requeued copy: its `delay` header does not apply again
  qplug_publish_done_fn done = nullptr;
  void* done_ud = nullptr;
  std::shared_ptr<sdk::Waiter> waiter;
  std::function<void(const qplug_status&)> internal;
  int64_t deadline_ns = 0;  // give up waiting for a connection after this
  size_t sent = 0;
  size_t settled = 0;
  std::vector<uint8_t> ok;  // per message: confirmed by the broker
  bool failed = false;
  qplug_status failure{};
  bool completed = false;
};

struct ConsumerState {
  Io* io = nullptr;
  qplug_queue* queue = nullptr;
  uint16_t prefetch = 10;
  ConsumerOptions options;
  std::string group;   // as subscribed ("" = the default group)
  std::string source;  // the broker queue it consumes: Q or Q.group.G (amqp_topology.hpp)
  qplug_deliver_fn deliver = nullptr;
  void* host_ud = nullptr;
  std::atomic<bool> cancelled{false};
  // Which subscription is live (0: none). Written by the I/O thread, read by
  // settle() on host threads so that a delivery of an earlier subscription
  // answers UNAVAILABLE instead of pretending its ack counted.
  std::atomic<uint64_t> subscription{0};
  // I/O thread only:
  uint16_t channel = 0;  // 0 = not subscribed on the current connection
  std::set<uint64_t> unsettled;
  AckCoalescer acks;  // ACK settles held for one multiple-ack frame
  // Re-subscribing after the broker cancelled the consumer (queue deleted,
  // quorum leader moved) or after a failed re-subscribe on reconnect.
  bool resubscribe_pending = false;
  int64_t resubscribe_at_ns = 0;
  uint16_t stale_channel = 0;  // channel of the cancelled consumer, still to be closed
  std::unique_ptr<sdk::Backoff> resubscribe_backoff;
};

}  // namespace qplug::amqp

struct qplug_consumer {
  std::shared_ptr<qplug::amqp::ConsumerState> state;
};

struct qplug_delivery {
  std::shared_ptr<qplug::amqp::ConsumerState> consumer;
  uint64_t tag = 0;
  uint64_t subscription = 0;
  uint64_t epoch = 0;
  qplug::sdk::OwnedMessage message;
};

namespace qplug::amqp {

// An internal disposition: an unknown one given to settle() hands the message
// back to the queue (basic.reject requeue=true) so its prefetch slot is freed.
inline constexpr int32_t kGiveBack = -1;

struct Command {
  enum Kind { kDeclare, kInspect, kPublish, kSubscribe, kUnsubscribe, kSettle };
  explicit Command(Kind k) : kind(k) {}
  Kind kind;
  qplug_queue* queue = nullptr;
  std::shared_ptr<PublishBatch> batch;
  std::shared_ptr<ConsumerState> consumer;
  qplug_delivery* delivery = nullptr;
  int32_t disposition = 0;
  qplug_queue_info* info = nullptr;
  std::shared_ptr<sdk::Waiter> done;
};

class Io {
 public:
  Io(DriverConfig cfg, const qplug_host_v1* host);
  ~Io();
  // Connects on the calling thread (so open() reports a dead broker or bad
  // credentials) and starts the I/O thread.
  int32_t start(qplug_status* st);
  // Finishes what is in flight (bounded by timeout_ms), fails the rest
  // CANCELED, closes the connection and joins the thread.
  void stop(uint32_t timeout_ms);

  void submit(Command c) { commands_.push(std::move(c)); }
  // Runs a command and blocks until the I/O thread completed it.
  int32_t call(Command c, qplug_status* st);
  // Backpressure for publishers: waits (bounded) until fewer than the limit
  // of messages are queued ahead of the confirm window.
  bool reserve(size_t n, int64_t timeout_ms);

  const DriverConfig& config() const { return cfg_; }
  uint64_t epoch() const { return epoch_.load(std::memory_order_acquire); }
  // The frame_max of the latest connection (what was asked for before the
  // first one): publishers size header tables against it (any thread).
  int frame_max() const { return frame_max_.load(std::memory_order_relaxed); }
  bool on_io_thread() const { return std::this_thread::get_id() == thread_.get_id(); }
  int64_t now_ns() const;
  void log(int32_t level, const std::string& msg) const;

 private:
  struct InFlight {
    std::shared_ptr<PublishBatch> batch;
    size_t index;
    int64_t sent_ns;
    int64_t delay_level_ms = 0;  // published to that delay queue (0: to the exchange)
    bool settled = false;
    bool returned = false;
  };

  void run();
  bool connected() const { return conn_.is_open() && !conn_.broken(); }
  int32_t setup_session(qplug_status* st);
  void try_reconnect();
  void connection_lost(const std::string& why);
  void wait_for_activity();
  bool has_work_to_send() const;
  void handle(Command& c);
  void handle_settle(qplug_delivery* d, int32_t disposition);
  // Declares Q, its fanout exchange and the binding (amqp_topology.hpp).
  int32_t declare_topology(qplug_queue* q, qplug_status* st);
  // Declares the delay level queue unless done recently on this connection.
  int32_t ensure_delay_queue(qplug_queue* q, int64_t level_ms, qplug_status* st);
  int32_t subscribe(const std::shared_ptr<ConsumerState>& c, qplug_status* st);
  void unsubscribe(const std::shared_ptr<ConsumerState>& c);
  void send_publishes();
  void expire_waiting_publishes();
  // Sends the acks that are due (all of them when force): see acks_due().
  void flush_acks(bool force);
  bool acks_due(const ConsumerState& c, int64_t now) const;
  void queue_ack(ConsumerState& c, uint64_t tag);
  void read_frames();
  void handle_frame(const amqp_frame_t& f);
  void on_deliver(uint16_t ch, const amqp_basic_deliver_t& m);
  void on_return(uint16_t ch, const amqp_basic_return_t& m);
  void on_broker_cancel(uint16_t ch);
  void schedule_resubscribe(const std::shared_ptr<ConsumerState>& c);
  void resubscribe_due();
  void on_confirm(uint64_t tag, bool multiple, bool ok);
  void settle_entry(InFlight& e, bool ok);
  void maybe_complete(const std::shared_ptr<PublishBatch>& b);
  void fail_batch(const std::shared_ptr<PublishBatch>& b, int32_t code, bool retryable, const std::string& why);
  void release_queued(size_t n);
  uint16_t take_channel();
  void shutdown();

  DriverConfig cfg_;
  sdk::HostLog log_;  // the host's log service (a no-op when it has none)
  Connection conn_;
  sdk::CommandQueue<Command> commands_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  int64_t stop_deadline_ns_ = 0;
  std::atomic<uint64_t> epoch_{1};
  std::atomic<int> frame_max_{kRequestedFrameMax};
  sdk::Backoff backoff_;
  int64_t next_attempt_ns_ = 0;

  // Topology, re-declared after every reconnect.
  std::vector<qplug_queue*> topology_;
  std::vector<std::shared_ptr<ConsumerState>> consumers_;
  std::map<uint16_t, std::shared_ptr<ConsumerState>> by_channel_;
  std::vector<uint16_t> free_channels_;
  uint16_t next_channel_ = 3;
  uint64_t next_subscription_ = 1;

  // Publish pipeline: batches waiting to be sent, then the messages sent
  // and not yet confirmed (amqp_confirm_window.hpp).
  std::deque<std::shared_ptr<PublishBatch>> pending_;
  ConfirmWindow<InFlight> window_;

  std::mutex queued_mu_;
  std::condition_variable queued_cv_;
  size_t queued_ = 0;  // messages submitted and not yet sent
};

}  // namespace qplug::amqp
