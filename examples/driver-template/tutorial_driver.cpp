// tutorial_driver.cpp -- "tutorial", a complete qplug driver in one file, read top to bottom: an in-process queue
// on <qplug/driver.h> and the header-only SDK alone; copy this directory to start one (docs/writing-a-driver.md).
// Every queue is a deque of owned messages; each subscription has a thread that turns a message into a delivery
// and calls the host. One mutex guards everything; one condition variable per queue wakes its consumers.
#include <qplug/driver.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <qplug/sdk/all.hpp>  // the header-only SDK; each of its headers also works alone
#include <string>
#include <thread>
#include <vector>

// The ABI's handle types are incomplete in driver.h; the driver completes them, so no cast is ever needed. The
// lock is shared with every delivery handed out, so a delivery settled after close still has it.
struct qplug_driver {
  std::shared_ptr<std::mutex> mu = std::make_shared<std::mutex>();
  std::map<std::string, std::unique_ptr<qplug_queue>, std::less<>> queues;
};

struct qplug_queue {
  qplug_driver* driver;
  std::string name;
  std::deque<qplug::sdk::OwnedMessage> ready;
  std::condition_variable changed;  // a message came, a delivery settled, a consumer stops
};

struct qplug_delivery {
  std::shared_ptr<std::mutex> mu;
  qplug_consumer* consumer;  // nullptr once unsubscribe gave the message back
  qplug::sdk::OwnedMessage message;
};

struct qplug_consumer {
  qplug_queue* queue;
  qplug_deliver_fn deliver;
  void* host_ud;
  uint32_t prefetch;
  bool stopping = false;
  std::vector<qplug_delivery*> unsettled{};  // in delivery order
  std::thread thread{};
  std::once_flag stopped{};
};

namespace qplug::tutorial {
namespace {
using sdk::fail;
using sdk::guarded;
constexpr uint32_t kDefaultPrefetch = 16;  // unsettled deliveries per consumer when the host says 0

// open(): validate the flattened YAML block, build an instance. Any thread, may block (a network driver connects
// here). ConfigReader::finish makes unknown keys INVALID naming them; a real driver reads cfg.str(), ... first.
qplug_driver* op_open(const qplug_host_v1* /*host: for logging, see sdk/host_log.hpp*/, const qplug_kv* config,
                      size_t count, qplug_status* st) {
  return guarded<qplug_driver*>(st, nullptr, [&]() -> qplug_driver* {
    return sdk::ConfigReader(config, count).finish(st, "tutorial driver") ? new qplug_driver : nullptr;
  });
}

// close(): stop our threads and free the instance, within timeout_ms even with a dead broker. Never concurrent
// with another op; the host freed every consumer first, and unsettled deliveries own their lock.
void op_close(qplug_driver* d, uint32_t /*timeout_ms: nothing can hang*/) {
  sdk::guarded_void([&] { delete d; });
}

// declare(): create the queue or return the existing one (idempotent). Any thread. Options: driver_options.tutorial.
qplug_queue* op_declare(qplug_driver* d, qplug_str name, const qplug_kv* options, size_t count, qplug_status* st) {
  return guarded<qplug_queue*>(st, nullptr, [&]() -> qplug_queue* {
    if (name.ptr == nullptr || name.len == 0) return fail(st, QPLUG_INVALID, false, "tutorial: empty name"), nullptr;
    const std::string qname(name.ptr, name.len);
    if (!sdk::ConfigReader(options, count).finish(st, "tutorial queue options")) return nullptr;
    std::lock_guard lock(*d->mu);
    auto& q = d->queues[qname];
    if (!q) q.reset(new qplug_queue{d, qname, {}, {}});
    return q.get();
  });
}

// publish(): check and copy the batch (spans are borrowed for the call), append it all or nothing. Any thread.
// Enqueued is confirmed, so `done` runs before publish returns. A bounded queue would wait for room up to
// sdk::publish_timeout_ms(options, default), then answer a retryable FULL.
int32_t op_publish(qplug_queue* q, const qplug_message* const* msgs, size_t n, const qplug_publish_options*,
                   qplug_publish_done_fn done, void* done_ud, size_t* accepted, qplug_status* st) {
  if (accepted != nullptr) *accepted = 0;
  return guarded<int32_t>(st, QPLUG_INTERNAL, [&]() -> int32_t {
    if (int32_t rc = sdk::check_batch(msgs, n, "tutorial: publish to '" + q->name + '\'', {}, st); rc != QPLUG_OK)
      return rc;
    std::vector<sdk::OwnedMessage> copies;
    for (size_t i = 0; i < n; ++i) copies.emplace_back(*msgs[i]);  // deep copies, outside the lock
    {
      std::lock_guard lock(*q->driver->mu);
      for (auto& m : copies) q->ready.push_back(std::move(m));
      q->changed.notify_all();
    }
    if (accepted != nullptr) *accepted = n;
    qplug_status ok = sdk::make_status();
    if (done != nullptr) done(done_ud, &ok, n);
    return QPLUG_OK;
  });
}

// The consumer thread: wait for a message and a free prefetch slot, make the delivery, and call the host OUTSIDE
// the lock (it may settle from inside).
void consume_loop(qplug_consumer* c) {
  qplug_queue* q = c->queue;
  std::unique_lock lock(*q->driver->mu);
  for (;;) {
    q->changed.wait(lock, [&] { return c->stopping || (!q->ready.empty() && c->unsettled.size() < c->prefetch); });
    if (c->stopping) return;
    auto* d = new qplug_delivery{q->driver->mu, c, std::move(q->ready.front())};
    q->ready.pop_front();
    d->message.attempts++;  // this delivery included: 1 the first time
    c->unsettled.push_back(d);
    const qplug_message& view = d->message.view();
    lock.unlock();
    c->deliver(c->host_ud, d, &view);
    lock.lock();
  }
}

// subscribe(): deliver on a thread of ours, never on the caller's stack. Any thread. sdk::read_subscribe_request
// checks the callback and reads the options (NULL or an older host's shorter struct: defaults). What this driver
// cannot do is refused, never ignored: consumer groups, consumer options.
qplug_consumer* op_subscribe(qplug_queue* q, const qplug_subscribe_options* o, qplug_deliver_fn cb, void* ud,
                             qplug_status* st) {
  return guarded<qplug_consumer*>(st, nullptr, [&]() -> qplug_consumer* {
    sdk::SubscribeRequest req;
    if (!sdk::read_subscribe_request("tutorial", q->name, o, cb, &req, st)) return nullptr;
    if (!req.group.empty())
      return fail(st, QPLUG_INVALID, false, "tutorial: consumer groups are not supported"), nullptr;
    if (!sdk::ConfigReader(req.options, req.option_count).finish(st, "tutorial consumer options")) return nullptr;
    auto* c = new qplug_consumer{q, cb, ud, req.prefetch == 0 ? kDefaultPrefetch : req.prefetch};
    std::lock_guard lock(*q->driver->mu);
    c->thread = std::thread(consume_loop, c);
    return c;
  });
}

// settle(): exactly once per delivery, from any thread, also from inside the callback. ACK and REJECT drop the
// message (no native dead-letter: the core does it); NACK_REQUEUE puts it back at the front. After unsubscribe
// the message is already back in the queue: answer CANCELED.
int32_t op_settle(qplug_delivery* d, int32_t disposition, qplug_status* st) {
  return guarded<int32_t>(st, QPLUG_INTERNAL, [&]() -> int32_t {
    std::unique_ptr<qplug_delivery> owned(d);  // freed after the lock is released
    std::lock_guard lock(*d->mu);
    qplug_consumer* c = d->consumer;
    if (c == nullptr) return fail(st, QPLUG_CANCELED, false, "tutorial: consumer was unsubscribed; message requeued");
    c->unsettled.erase(std::find(c->unsettled.begin(), c->unsettled.end(), d));
    bool known = disposition == QPLUG_ACK || disposition == QPLUG_NACK_REQUEUE || disposition == QPLUG_REJECT;
    if (disposition == QPLUG_NACK_REQUEUE || !known) c->queue->ready.push_front(std::move(d->message));
    c->queue->changed.notify_all();
    return known ? QPLUG_OK : fail(st, QPLUG_INVALID, false, "tutorial: unknown disposition %d; requeued", disposition);
  });
}

// unsubscribe(): stop and quiesce. After it returns no callback runs or will start. Unsettled deliveries go back
// to the queue (a copy, in order; the host's view stays valid until it settles). Idempotent, also when two
// threads call it at once: std::call_once makes the second wait for the first.
int32_t op_unsubscribe(qplug_consumer* c, qplug_status* st) {
  if (c->thread.get_id() == std::this_thread::get_id())
    return fail(st, QPLUG_INVALID, false, "tutorial: unsubscribe from inside the callback would deadlock");
  return guarded<int32_t>(st, QPLUG_INTERNAL, [&]() -> int32_t {
    std::call_once(c->stopped, [c] {
      qplug_queue* q = c->queue;
      {
        std::lock_guard lock(*q->driver->mu);
        c->stopping = true;
        q->changed.notify_all();
      }
      c->thread.join();
      std::lock_guard lock(*q->driver->mu);
      for (auto it = c->unsettled.rbegin(); it != c->unsettled.rend(); ++it) {
        q->ready.push_front((*it)->message);
        (*it)->consumer = nullptr;
      }
      c->unsettled.clear();
      q->changed.notify_all();  // other consumers may take the returned messages
    });
    return QPLUG_OK;
  });
}

// consumer_free(): free the handle, exactly once, after unsubscribe.
void op_consumer_free(qplug_consumer* c) {
  sdk::guarded_void([c] {
    op_unsubscribe(c, nullptr);  // a no-op when already unsubscribed
    delete c;
  });
}

// Honest capabilities: no DELAY, TTL, PRIORITY, DEAD_LETTER, CONSUMER_GROUPS or QUEUE_INFO. Optional ops we lack
// are NULL (plugins/memory/memory_driver.cpp has a queue_info). clang-format would give each field its own line.
// clang-format off
constexpr qplug_driver_v1 kVtable = {
    .struct_size = sizeof(qplug_driver_v1), .abi_major = QPLUG_ABI_MAJOR, .abi_minor = QPLUG_ABI_MINOR,
    .name = "tutorial", .version = "0.1.0", .description = "the driver template: an in-process queue, one mutex",
    .capabilities = QPLUG_CAP_ACK_AFTER_PROCESSING | QPLUG_CAP_NACK_REQUEUE | QPLUG_CAP_ORDERED |
        QPLUG_CAP_COMPETING_CONSUMERS | QPLUG_CAP_DELIVERY_COUNT | QPLUG_CAP_HEADER_TYPES,
    .config_schema = nullptr,
    .open = op_open, .close = op_close, .declare = op_declare, .publish = op_publish, .subscribe = op_subscribe,
    .settle = op_settle, .unsubscribe = op_unsubscribe, .consumer_free = op_consumer_free,
    .queue_info = nullptr, .instance_capabilities = nullptr};
// clang-format on

}  // namespace
}  // namespace qplug::tutorial

// The one exported symbol: negotiate the ABI version, hand out the vtable.
extern "C" QPLUG_EXPORT const qplug_driver_v1* qplug_driver_entry(uint32_t major, uint32_t minor, qplug_status* st) {
  return qplug::sdk::negotiate_entry(qplug::tutorial::kVtable, major, minor, st);
}
