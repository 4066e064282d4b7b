// qplug/runtime.hpp -- the C++ public API: load a config, publish, consume.
//
//   auto rt = qplug::Runtime::load("app.yaml");
//   if (!rt.ok()) { std::cerr << rt.status().to_string(); return 2; }
//   Status st = (*rt)->publish("app:tasks", qplug::Map{{"action", "send_email"}});
//   auto sub = (*rt)->subscribe("app:tasks", {.concurrency = 2},
//                               [](qplug::Delivery& d) { ...; return qplug::ok_status(); });
//   (*rt)->stop();
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <qplug/config.hpp>
#include <qplug/message.hpp>
#include <qplug/status.hpp>
#include <qplug/value.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace qplug {

class Runtime;

// One delivered message, handed to a handler on a worker thread. Valid only
// during the handler call (the runtime settles it afterwards unless the
// handler did). Settlement is single-shot: a second ack()/nack() returns
// INVALID "already settled".
class Delivery {
 public:
  virtual ~Delivery() = default;
  virtual const Message& message() const = 0;
  virtual const std::string& queue_id() const = 0;
  virtual uint32_t attempts() const = 0;
  // Decodes the body with the queue's codec.
  virtual Result<Value> payload() const = 0;
  virtual Status ack() = 0;
  // Nack: redelivered with attempts + 1 after the retry backoff, or
  // dead-lettered once max_attempts is reached. `reason` lands in the
  // dead-lettered message's "x-last-error" header.
  virtual Status nack(std::string_view reason = {}) = 0;
  virtual bool settled() const = 0;
};

// Returning OK acks (unless already settled); any error nacks with the
// error's message as the reason.
using Handler = std::function<Status(Delivery&)>;
// Builds one Handler per worker (so each worker can own state such as a
// lua_State). Called on the worker's own thread before it takes messages.
using HandlerFactory = std::function<Result<Handler>(int worker_index)>;

struct ConsumerOptions {
  int concurrency = 1;    // worker threads
  int prefetch = 10;      // max messages in flight (delivered, unsettled)
  bool auto_ack = false;  // true: ack before the handler runs (at-most-once)
  std::string group;      // consumer group; empty = driver default
  // Consumer name the driver subscribes under. Empty: unique_consumer_name(queue ID),
  // so several processes of one config compete instead of sharing one identity.
  std::string name;
  KeyValues driver_options;
  std::chrono::milliseconds shutdown_timeout{10000};  // for in-flight handlers
};

// Totals of one subscription since it started (`qplug run` prints them at exit).
struct SubscriptionCounters {
  uint64_t processed = 0;      // handler calls that finished
  uint64_t failed = 0;         // handler calls that failed (error, exception or nack)
  uint64_t retried = 0;        // failures sent back for another attempt
  uint64_t dead_lettered = 0;  // messages moved to the dead-letter queue (attempts exhausted or expired)
  uint64_t expired = 0;        // messages whose ttl had passed (never handed to the handler)
};

// How long a retry this process scheduled counts as outstanding after it was due.
inline constexpr std::chrono::seconds kRetryGrace{30};

// `<base>-<host name>-<pid>-<n>`: a consumer name unique per process and call.
std::string unique_consumer_name(std::string_view base);

// A running consumer. stop() stops intake, waits for in-flight handlers up to
// shutdown_timeout, returns unprocessed prefetched messages to the broker,
// and is idempotent. The destructor calls stop().
class Subscription {
 public:
  virtual ~Subscription() = default;
  virtual Status stop() = 0;
  virtual const std::string& queue_id() const = 0;
  virtual uint64_t processed() const = 0;  // handler calls that finished
  // Handler calls running right now (for idle detection, e.g. `qplug run --exit-when-idle`).
  virtual int64_t running() const { return 0; }
  // Deliveries this subscription sent back for another attempt that have not
  // come back to it yet: held for backoff, requeued, or republished with a
  // delay. Counted until the message is delivered to this subscription again
  // or kRetryGrace after it was due (another process may have taken it).
  virtual int64_t retries_outstanding() const { return 0; }
  virtual SubscriptionCounters counters() const { return {}; }
};

struct PublishOptions {
  std::chrono::milliseconds timeout{-1};  // <0: driver default
};

struct QueueInfo {
  int64_t messages = -1;
  int64_t in_flight = -1;
  int64_t consumers = -1;
};

// Who is acting, for permission checks. nullptr actor = the host itself
// (always allowed unless security.strict).
struct SecurityContext {
  const Actor* actor = nullptr;
  std::vector<std::string> policies;  // full policy IDs attached to the actor's entry
};

// One row of the routing table (for tools such as `qplug check`).
struct RouteInfo {
  std::string queue_id;                 // namespace:name
  std::string queue_name;               // broker-side name
  std::string codec;                    // codec name
  std::string driver_id;                // the queue.driver entry
  std::string driver_name;              // memory, amqp, ...
  std::string plugin_file;              // the .so actually loaded
  std::string dead_letter;              // dead-letter queue ID or empty
  bool dead_letter_configured = false;  // dead_letter.queue given (else the core's `<queue>.dead`)
  bool auto_declared = false;           // this row is a `<queue>.dead` the core declared
  uint64_t capabilities = 0;            // the driver instance's QPLUG_CAP_* bits (its settings count)
  int max_attempts = 0;                 // 0 = unlimited
  int64_t initial_backoff_ms = 0;
};

struct RuntimeOptions {
  std::vector<std::string> plugin_path;  // extra directories searched first
};

class Runtime {
 public:
  // Loads the config, loads and opens each referenced driver plugin, declares queues.
  static Result<std::unique_ptr<Runtime>> load(const std::string& config_path, RuntimeOptions opts = {});
  static Result<std::unique_ptr<Runtime>> create(Config config, RuntimeOptions opts = {});
  virtual ~Runtime() = default;

  virtual const Config& config() const = 0;

  // Encodes `data` with the queue's codec and publishes it; blocks until the
  // broker took responsibility. Empty queue ID or empty data -> INVALID.
  virtual Status publish(std::string_view queue_id, const Value& data, const Headers& headers = {},
                         const SecurityContext* security = nullptr, PublishOptions opts = {}) = 0;
  // Publishes already-encoded messages as one batch (ids assigned if empty).
  virtual Status publish_batch(std::string_view queue_id, std::vector<Message> messages,
                               const SecurityContext* security = nullptr, PublishOptions opts = {}) = 0;
  // Returns at once; `done` runs exactly once (possibly on a driver thread).
  virtual void publish_async(std::string_view queue_id, std::vector<Message> messages, std::function<void(Status)> done,
                             const SecurityContext* security = nullptr) = 0;

  virtual Result<std::unique_ptr<Subscription>> subscribe(std::string_view queue_id, ConsumerOptions opts,
                                                          HandlerFactory factory) = 0;
  // Convenience: the same handler on every worker.
  Result<std::unique_ptr<Subscription>> subscribe(std::string_view queue_id, ConsumerOptions opts, Handler h) {
    return subscribe(queue_id, std::move(opts), [h](int) -> Result<Handler> { return h; });
  }

  virtual Result<QueueInfo> info(std::string_view queue_id) = 0;

  // Permission check (DESIGN.md section 6): OK or PERMISSION_DENIED.
  virtual Status check_permission(const SecurityContext* security, std::string_view action,
                                  std::string_view resource) const = 0;

  // The routing table: one row per configured queue, in config order.
  virtual std::vector<RouteInfo> routes() const { return {}; }

  // Stops every subscription made through this runtime, then closes drivers.
  virtual void stop() = 0;
};

}  // namespace qplug
