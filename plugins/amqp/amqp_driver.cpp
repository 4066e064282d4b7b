// amqp_driver.cpp -- the RabbitMQ / AMQP 0-9-1 driver's C ABI surface: the
// vtable, argument checks, and marshalling every call to the I/O thread
// (amqp_io.cpp), which alone touches librabbitmq.
#include <qplug/driver.h>

#include <map>
#include <memory>
#include <mutex>
#include <qplug/sdk/config.hpp>
#include <qplug/sdk/entry.hpp>
#include <qplug/sdk/message.hpp>
#include <qplug/sdk/publish_timeout.hpp>
#include <qplug/sdk/queue_info.hpp>
#include <qplug/sdk/schedule_headers.hpp>
#include <qplug/sdk/status.hpp>
#include <qplug/sdk/subscribe.hpp>
#include <qplug/sdk/validate.hpp>

#include "amqp_config.hpp"
#include "amqp_headers.hpp"
#include "amqp_io.hpp"
#include "amqp_topology.hpp"

struct qplug_driver {
  std::unique_ptr<qplug::amqp::Io> io;
  std::mutex mu;  // guards queues
  std::map<std::string, std::unique_ptr<qplug_queue>> queues;
};

namespace {

using namespace qplug::amqp;
using qplug::sdk::fail;
using qplug::sdk::guarded;

const char* amqp_schema() {
  return R"({"$schema":"https://json-schema.org/draft/2020-12/schema","title":"qplug amqp driver","type":"object",
"additionalProperties":false,"properties":{
"url":{"type":"string","description":"amqp://user:pass@host:port/vhost or amqps://"},
"vhost":{"type":"string"},"client_name":{"type":"string","description":"connection name; alias (deprecated): connection_name"},
"heartbeat":{"type":["string","integer"],"default":"30s","description":"whole seconds, 0 disables"},
"connect_timeout":{"type":["string","integer"],"default":"5s","description":"alias (deprecated): connection_timeout"},
"reconnect.initial_delay":{"type":["string","integer"],"default":"200ms","description":"alias (deprecated): reconnect_delay"},
"reconnect.max_delay":{"type":["string","integer"],"default":"10s","description":"alias (deprecated): reconnect_max_delay"},
"prefetch_count":{"type":"integer","minimum":0,"maximum":65535},
"default_message_ttl":{"type":["string","integer"]},"publish_timeout":{"type":["string","integer"]},
"confirm_window":{"type":"integer","minimum":1},"tls.enabled":{"type":"boolean","description":"implied by amqps://"},
"tls.ca_file":{"type":"string"},"tls.cert_file":{"type":"string"},"tls.key_file":{"type":"string"},
"tls.verify_peer":{"type":"boolean"},"tls.verify_hostname":{"type":"boolean"}}})";
}

qplug_driver* amqp_open(const qplug_host_v1* host, const qplug_kv* config, size_t n, qplug_status* st) {
  return guarded<qplug_driver*>(st, nullptr, [&]() -> qplug_driver* {
    auto cfg = parse_driver_config(config, n, st);
    if (!cfg) return nullptr;
    qplug::sdk::ConfigReader::log_config_warnings(host, "amqp", cfg->warnings);
    auto d = std::make_unique<qplug_driver>();
    d->io = std::make_unique<Io>(std::move(*cfg), host);
    if (d->io->start(st) != QPLUG_OK) return nullptr;
    return d.release();
  });
}

void amqp_close(qplug_driver* d, uint32_t timeout_ms) {
  qplug::sdk::guarded_void([&] {
    if (d == nullptr) return;
    d->io->stop(timeout_ms);
    delete d;
  });
}

qplug_queue* amqp_declare(qplug_driver* d, qplug_str name, const qplug_kv* options, size_t n, qplug_status* st) {
  return guarded<qplug_queue*>(st, nullptr, [&]() -> qplug_queue* {
    std::string qname(qplug::sdk::view(name));
    // 249: its exchange "qplug.<name>" must fit AMQP's 255-byte names too.
    const size_t max_name = kMaxNameBytes - exchange_name("").size();
    if (qname.empty() || qname.size() > max_name)
      return fail(st, QPLUG_INVALID, false, "amqp: queue name must be 1-%zu bytes, got %zu", max_name, qname.size()),
             nullptr;
    if (qname.rfind("amq.", 0) == 0)
      return fail(st, QPLUG_INVALID, false, "amqp: queue name '%s' uses the reserved prefix 'amq.'", qname.c_str()),
             nullptr;
    auto opts = parse_queue_options(options, n, st);
    if (!opts) return nullptr;
    std::lock_guard<std::mutex> lock(d->mu);
    auto it = d->queues.find(qname);
    if (it != d->queues.end()) return it->second.get();
    auto q = std::make_unique<qplug_queue>();
    q->name = qname;
    q->exchange = exchange_name(qname);
    q->publish_where = "amqp: publish to '" + qname + '\'';
    q->options = *opts;
    q->io = d->io.get();
    Command c(Command::kDeclare);
    c.queue = q.get();
    if (d->io->call(std::move(c), st) != QPLUG_OK) return nullptr;
    qplug_queue* raw = q.get();
    d->queues.emplace(qname, std::move(q));
    return raw;
  });
}

int32_t amqp_publish(qplug_queue* q, const qplug_message* const* msgs, size_t n, const qplug_publish_options* options,
                     qplug_publish_done_fn done, void* done_ud, size_t* accepted, qplug_status* st) {
  if (accepted != nullptr) *accepted = 0;
  return guarded<int32_t>(st, QPLUG_INTERNAL, [&]() -> int32_t {
    if (q == nullptr) return fail(st, QPLUG_INVALID, false, "amqp: publish to a NULL queue");
    Io& io = *q->io;
    // The SDK's one rule set, so a message amqp accepts is accepted by every
    // driver, with this connection's frame budget for the header table.
    if (int32_t rc = qplug::sdk::check_batch(msgs, n, q->publish_where, message_limits(io.frame_max()), st);
        rc != QPLUG_OK)
      return rc;
    auto b = std::make_shared<PublishBatch>();
    b->queue = q;
    b->msgs.reserve(n);
    OutgoingProperties check;
    for (size_t i = 0; i < n; ++i) {
      // delay/priority: the SDK's one reader, so every driver refuses the same values the same way.
      qplug::sdk::ScheduleHeaders sched;
      int32_t bad_schedule = qplug::sdk::read_schedule_headers(*msgs[i], i, "amqp: publish", &sched, st);
      if (bad_schedule != QPLUG_OK) return bad_schedule;
      b->msgs.emplace_back(*msgs[i]);
      std::string bad = check.build(b->msgs.back(), q->options.persistent, io.config().default_message_ttl_ms, 0,
                                    q->options.max_priority > 0, true);
      if (bad.empty() && check.delay_ms() > 0 &&
          delay_queue_name(q->name, delay_level_ms(check.delay_ms())).size() > kMaxNameBytes)
        bad = "header 'delay': the delay queue's name would exceed 255 bytes (shorten the queue name)";
      if (!bad.empty())
        return fail(st, QPLUG_INVALID, false, "amqp: publish to '%s': message %zu: %s", q->name.c_str(), i,
                    bad.c_str());
      if (check.has_priority() && q->options.max_priority <= 0 && !q->priority_warned.exchange(true))
        io.log(QPLUG_LOG_WARN, "queue '" + q->name +
                                   "' was declared without max_priority: RabbitMQ ignores the 'priority' header there "
                                   "(set driver_options.amqp.max_priority on a new queue)");
    }
    b->ok.assign(n, 0);
    const int64_t timeout_ms = qplug::sdk::publish_timeout_ms(options, io.config().publish_timeout_ms);
    // Saturates: now + a huge timeout must not overflow into the past (= fail at once).
    b->deadline_ns = qplug::sdk::deadline_ns_after(io.now_ns(), timeout_ms);
    if (done == nullptr && io.on_io_thread())
      return fail(st, QPLUG_INTERNAL, false,
                  "amqp: synchronous publish from inside a delivery callback would deadlock");
    if (!io.reserve(n, timeout_ms))
      return fail(st, QPLUG_FULL, true, "amqp: publish to '%s': too many messages waiting for the broker",
                  q->name.c_str());
    Command c(Command::kPublish);
    if (done != nullptr) {
      b->done = done;
      b->done_ud = done_ud;
      c.batch = std::move(b);
      io.submit(std::move(c));
      return QPLUG_OK;
    }
    auto waiter = std::make_shared<qplug::sdk::Waiter>();
    b->waiter = waiter;
    c.batch = std::move(b);
    io.submit(std::move(c));
    return waiter->wait_result(accepted, st);
  });
}

qplug_consumer* amqp_subscribe(qplug_queue* q, const qplug_subscribe_options* options, qplug_deliver_fn cb, void* ud,
                               qplug_status* st) {
  return guarded<qplug_consumer*>(st, nullptr, [&]() -> qplug_consumer* {
    if (q == nullptr) return fail(st, QPLUG_INVALID, false, "amqp: subscribe to a NULL queue"), nullptr;
    qplug::sdk::SubscribeRequest req;
    if (!qplug::sdk::read_subscribe_request("amqp", q->name, options, cb, &req, st)) return nullptr;
    auto c = std::make_shared<ConsumerState>();
    c->io = q->io;
    c->queue = q;
    c->deliver = cb;
    c->host_ud = ud;
    c->prefetch = q->io->config().prefetch_count;
    auto co = parse_consumer_options(req.options, req.option_count, st);
    if (!co) return nullptr;
    c->options = *co;
    if (req.prefetch > 0) c->prefetch = static_cast<uint16_t>(std::min<uint32_t>(req.prefetch, 65535));
    if (c->options.consumer_tag.empty()) c->options.consumer_tag = std::string(req.consumer_name);
    c->group = std::string(req.group);
    c->source = group_queue_name(q->name, c->group);
    if (c->source.size() > kMaxNameBytes)
      return fail(st, QPLUG_INVALID, false,
                  "amqp: group '%.40s...' of queue '%s': its queue '<queue>.group.<group>' would exceed 255 bytes",
                  c->group.c_str(), q->name.c_str()),
             nullptr;
    Command cmd(Command::kSubscribe);
    cmd.consumer = c;
    if (q->io->call(std::move(cmd), st) != QPLUG_OK) return nullptr;
    return new qplug_consumer{c};
  });
}

int32_t amqp_settle(qplug_delivery* d, int32_t disposition, qplug_status* st) {
  return guarded<int32_t>(st, QPLUG_INTERNAL, [&]() -> int32_t {
    if (d == nullptr) return fail(st, QPLUG_INVALID, false, "amqp: settle of a NULL delivery");
    std::unique_ptr<qplug_delivery> owned(d);
    const bool known = disposition == QPLUG_ACK || disposition == QPLUG_NACK_REQUEUE || disposition == QPLUG_REJECT;
    ConsumerState& c = *d->consumer;
    if (!known) {
      // The delivery is invalid after settle() whatever the result (driver.h),
      // so it cannot stay unsettled: it goes back to the queue, and its
      // prefetch slot with it. Already the broker's again when stale.
      bool live = !c.cancelled.load() && c.io->epoch() == d->epoch && c.subscription.load() == d->subscription;
      if (live) {
        Command cmd(Command::kSettle);
        cmd.delivery = owned.release();
        cmd.disposition = kGiveBack;
        c.io->submit(std::move(cmd));
      }
      return fail(st, QPLUG_INVALID, false, "amqp: unknown disposition %d; the message goes back to the queue",
                  disposition);
    }
    if (c.cancelled.load())
      return fail(st, QPLUG_CANCELED, false, "amqp: consumer of '%s' unsubscribed; the broker redelivers the message",
                  c.queue->name.c_str());
    if (c.io->epoch() != d->epoch)
      return fail(st, QPLUG_UNAVAILABLE, true,
                  "amqp: connection lost since delivery; the broker redelivers the message");
    if (c.subscription.load() != d->subscription)
      return fail(st, QPLUG_UNAVAILABLE, true,
                  "amqp: the broker cancelled the consumer of '%s' since delivery; the message goes back to the queue",
                  c.queue->name.c_str());
    Command cmd(Command::kSettle);
    cmd.delivery = owned.release();
    cmd.disposition = disposition;
    c.io->submit(std::move(cmd));
    return QPLUG_OK;
  });
}

int32_t amqp_unsubscribe(qplug_consumer* c, qplug_status* st) {
  return guarded<int32_t>(st, QPLUG_INTERNAL, [&]() -> int32_t {
    if (c == nullptr) return fail(st, QPLUG_INVALID, false, "amqp: unsubscribe of a NULL consumer");
    if (c->state->cancelled.exchange(true)) return QPLUG_OK;  // idempotent
    Command cmd(Command::kUnsubscribe);
    cmd.consumer = c->state;
    qplug_status ignored{};
    // CANCELED here means the driver is closing: the connection close hands
    // the deliveries back, so unsubscribe still succeeded.
    c->state->io->call(std::move(cmd), &ignored);
    return QPLUG_OK;
  });
}

void amqp_consumer_free(qplug_consumer* c) {
  qplug::sdk::guarded_void([&] { delete c; });
}

int32_t amqp_queue_info(qplug_queue* q, qplug_queue_info* info, qplug_status* st) {
  return guarded<int32_t>(st, QPLUG_INTERNAL, [&]() -> int32_t {
    if (q == nullptr) return fail(st, QPLUG_INVALID, false, "amqp: queue_info of a NULL queue");
    if (info == nullptr) return qplug::sdk::write_queue_info(info, {}, "amqp", st);  // INVALID, named
    qplug_queue_info tmp{};
    Command cmd(Command::kInspect);
    cmd.queue = q;
    cmd.info = &tmp;
    int32_t rc = q->io->call(std::move(cmd), st);
    if (rc != QPLUG_OK) return rc;
    qplug::sdk::QueueCounts counts;  // in_flight: RabbitMQ does not say (-1)
    counts.messages = tmp.messages;
    counts.consumers = tmp.consumers;
    return qplug::sdk::write_queue_info(info, counts, "amqp", st);
  });
}

constexpr uint64_t amqp_capabilities = QPLUG_CAP_PERSISTENT | QPLUG_CAP_ACK_AFTER_PROCESSING | QPLUG_CAP_NACK_REQUEUE |
                                       QPLUG_CAP_ORDERED | QPLUG_CAP_PRIORITY | QPLUG_CAP_DELAY | QPLUG_CAP_TTL |
                                       QPLUG_CAP_DEAD_LETTER | QPLUG_CAP_COMPETING_CONSUMERS |
                                       QPLUG_CAP_CONSUMER_GROUPS | QPLUG_CAP_BATCH_PUBLISH | QPLUG_CAP_ASYNC_PUBLISH |
                                       QPLUG_CAP_DELIVERY_COUNT | QPLUG_CAP_QUEUE_INFO | QPLUG_CAP_HEADER_TYPES;

const qplug_driver_v1 amqp_vtable = {
    .struct_size = sizeof(qplug_driver_v1),
    .abi_major = QPLUG_ABI_MAJOR,
    .abi_minor = QPLUG_ABI_MINOR,
    .name = "amqp",
    .version = "0.1.0",
    .description = "RabbitMQ / AMQP 0-9-1 (librabbitmq): publisher confirms, manual acks, reconnect",
    .capabilities = amqp_capabilities,
    .config_schema = amqp_schema,
    .open = amqp_open,
    .close = amqp_close,
    .declare = amqp_declare,
    .publish = amqp_publish,
    .subscribe = amqp_subscribe,
    .settle = amqp_settle,
    .unsubscribe = amqp_unsubscribe,
    .consumer_free = amqp_consumer_free,
    .queue_info = amqp_queue_info,
    .instance_capabilities = nullptr,  // every instance can do the same
};

}  // namespace

// Version negotiation by the SDK's one rule (sdk/entry.hpp).
extern "C" QPLUG_EXPORT const qplug_driver_v1* qplug_driver_entry(uint32_t host_major, uint32_t host_minor,
                                                                  qplug_status* st) {
  return qplug::sdk::negotiate_entry(amqp_vtable, host_major, host_minor, st);
}
