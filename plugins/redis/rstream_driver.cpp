// rstream_driver.cpp -- qplug driver for Redis streams (hiredis).
//
// A queue is a stream (key = key_prefix + queue name); consumers are a
// consumer group on it. Publishes are XADDs pipelined by one writer thread
// (rstream_writer), each subscription reads with its own connection and
// thread (rstream_subscription). Settings and field layout: docs/drivers/redis.md.
#include <qplug/driver.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <qplug/sdk/config.hpp>
#include <qplug/sdk/entry.hpp>
#include <qplug/sdk/host_log.hpp>
#include <qplug/sdk/message.hpp>
#include <qplug/sdk/publish_timeout.hpp>
#include <qplug/sdk/queue_info.hpp>
#include <qplug/sdk/schedule_headers.hpp>
#include <qplug/sdk/status.hpp>
#include <qplug/sdk/subscribe.hpp>
#include <qplug/sdk/validate.hpp>
#include <qplug/sdk/waiter.hpp>
#include <string>
#include <vector>

#include "rstream_connection.hpp"
#include "rstream_delay.hpp"
#include "rstream_fields.hpp"
#include "rstream_settings.hpp"
#include "rstream_sigpipe.hpp"
#include "rstream_subscription.hpp"
#include "rstream_writer.hpp"

using qplug::sdk::fail;
using qplug::sdk::guarded;
using qplug::sdk::guarded_void;
using qplug::sdk::view;
namespace rs = qplug::rstream;

// ---------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------
struct rstream_queue;

struct rstream_driver {
  rs::DriverSettings settings;
  const qplug_host_v1* host = nullptr;
  std::shared_ptr<rs::Writer> writer;  // shared with subscriptions (settle after close -> CANCELED)
  std::mutex queues_mu;
  std::map<std::string, std::unique_ptr<rstream_queue>> queues;
  std::atomic<uint64_t> consumer_counter{0};
};

struct rstream_queue {
  rstream_driver* drv = nullptr;
  std::string name;
  std::string key;            // the stream key
  std::string publish_where;  // "redis: publish to '<name>'", for check_batch's errors
  std::string delayed_set;    // <key>:delayed, ZSET of parked messages by due time
  std::string delayed_msgs;   // <key>:delayed:msgs, STREAM of their fields (rstream_delay.hpp)
  rs::QueueSettings opts;
};

struct rstream_consumer {
  std::shared_ptr<rs::Subscription> sub;
};

static rstream_driver* rstream_drv(qplug_driver* d) { return reinterpret_cast<rstream_driver*>(d); }
static rstream_queue* rstream_q(qplug_queue* q) { return reinterpret_cast<rstream_queue*>(q); }

// Admin commands (declare, queue_info) from any host thread, pipelined on a
// connection of their own that closes again: admin commands are rare, and
// an idle connection kept for them would sit unnoticed on a dead link (no
// heartbeat watches it) and cost the next call a command_timeout; nor may
// they queue behind the writer's connection, which may be black-holed. One
// connection per call, however many commands (queue_info sends two, and
// `qplug run --exit-when-idle` calls it in a loop). The replies in order;
// none (and `st` says why) when any is missing.
static std::vector<rs::Reply> rstream_admin(rstream_driver* drv,
                                            const std::vector<std::vector<std::string_view>>& commands,
                                            qplug_status* st) {
  rs::SigpipeBlock on_host_thread;
  rs::Connection admin;
  std::vector<rs::Reply> replies;
  if (!admin.connect(drv->settings.endpoint, 0, st)) return replies;
  for (const auto& argv : commands) {
    if (!admin.append(argv)) {
      admin.fail_io(st);
      return replies;
    }
  }
  for (size_t i = 0; i < commands.size(); ++i) {
    rs::Reply r = admin.read_reply(st);
    if (!r) return {};
    replies.push_back(std::move(r));
  }
  return replies;
}

static std::string rstream_group_of(const rstream_queue* q) { return q->opts.group.empty() ? q->name : q->opts.group; }

static bool rstream_create_group(rstream_driver* drv, const std::string& key, const std::string& group,
                                 qplug_status* st) {
  std::vector<rs::Reply> replies = rstream_admin(drv, {{"XGROUP", "CREATE", key, group, "0", "MKSTREAM"}}, st);
  if (replies.empty()) return false;
  const rs::Reply& r = replies[0];
  if (r->type == REDIS_REPLY_ERROR && rs::reply_text(r.get()).substr(0, 9) != "BUSYGROUP") {
    rs::fail_reply(st, r.get(), "XGROUP CREATE");
    return false;
  }
  return true;
}

// ---------------------------------------------------------------------------
// Lifecycle
// ---------------------------------------------------------------------------
static qplug_driver* rstream_open(const qplug_host_v1* host, const qplug_kv* config, size_t count, qplug_status* st) {
  return guarded<qplug_driver*>(st, nullptr, [&]() -> qplug_driver* {
    auto drv = std::make_unique<rstream_driver>();
    if (!rs::parse_driver_settings(config, count, &drv->settings, st)) return nullptr;
    drv->host = host;
    qplug::sdk::ConfigReader::log_config_warnings(host, "redis", drv->settings.warnings);
    // Connect now to report bad credentials early; an unreachable broker is
    // not an error here (the driver reconnects by itself), only a warning.
    qplug_status probe = qplug::sdk::make_status();
    rs::SigpipeBlock on_host_thread;
    rs::Connection check;  // closed again at once (see rstream_admin)
    if (!check.connect(drv->settings.endpoint, 0, &probe)) {
      if (probe.code == QPLUG_PERMISSION_DENIED || probe.code == QPLUG_INVALID) {
        *st = probe;
        return nullptr;
      }
      qplug::sdk::HostLog(host, "redis").warn("%s; will keep retrying", probe.message);
    }
    drv->writer = std::make_shared<rs::Writer>(drv->settings, host);
    drv->writer->start();
    return reinterpret_cast<qplug_driver*>(drv.release());
  });
}

static void rstream_close(qplug_driver* d, uint32_t timeout_ms) {
  guarded_void([&] {
    std::unique_ptr<rstream_driver> drv(rstream_drv(d));
    drv->writer->close(timeout_ms);
  });
}

// ---------------------------------------------------------------------------
// Queues
// ---------------------------------------------------------------------------
static qplug_queue* rstream_declare(qplug_driver* d, qplug_str name, const qplug_kv* options, size_t count,
                                    qplug_status* st) {
  return guarded<qplug_queue*>(st, nullptr, [&]() -> qplug_queue* {
    rstream_driver* drv = rstream_drv(d);
    std::string qname(view(name));
    if (qname.empty()) {
      fail(st, QPLUG_INVALID, false, "redis declare: queue name is empty");
      return nullptr;
    }
    auto q = std::make_unique<rstream_queue>();
    q->drv = drv;
    q->name = qname;
    q->key = drv->settings.key_prefix + qname;
    q->publish_where = "redis: publish to '" + qname + '\'';
    q->delayed_set = rs::delayed_set_key(q->key);
    q->delayed_msgs = rs::delayed_msgs_key(q->key);
    if (!rs::parse_queue_settings(options, count, drv->settings, &q->opts, st)) return nullptr;
    {
      std::lock_guard lock(drv->queues_mu);
      auto it = drv->queues.find(qname);
      if (it != drv->queues.end()) return reinterpret_cast<qplug_queue*>(it->second.get());
    }
    // The default group exists from declare on, starting at ID 0: whatever is
    // published before the first consumer subscribes is kept for it.
    if (!rstream_create_group(drv, q->key, rstream_group_of(q.get()), st)) return nullptr;
    std::lock_guard lock(drv->queues_mu);
    auto [it, inserted] = drv->queues.emplace(qname, std::move(q));
    return reinterpret_cast<qplug_queue*>(it->second.get());
  });
}

static int32_t rstream_queue_info(qplug_queue* qh, qplug_queue_info* info, qplug_status* st) {
  return guarded<int32_t>(st, QPLUG_INTERNAL, [&]() -> int32_t {
    rstream_queue* q = rstream_q(qh);
    qplug::sdk::QueueCounts counts;
    // Delayed messages are waiting messages too (a host waiting for its
    // queues to drain must not stop while some are scheduled): ZCARD.
    std::vector<rs::Reply> replies =
        rstream_admin(q->drv, {{"XINFO", "GROUPS", q->key}, {"ZCARD", q->delayed_set}}, st);
    if (replies.empty()) return st->code;
    const rs::Reply& r = replies[0];
    const rs::Reply& z = replies[1];
    if (r->type == REDIS_REPLY_ERROR) return rs::fail_reply(st, r.get(), "XINFO GROUPS");
    std::string group = rstream_group_of(q);
    for (size_t g = 0; r->type == REDIS_REPLY_ARRAY && g < r->elements; ++g) {
      const redisReply* fields = r->element[g];
      std::map<std::string, const redisReply*> f;
      for (size_t i = 0; i + 1 < fields->elements; i += 2)
        f[std::string(rs::reply_text(fields->element[i]))] = fields->element[i + 1];
      if (f.count("name") == 0 || rs::reply_text(f["name"]) != group) continue;
      auto num = [&](const char* k) { return f.count(k) && f[k]->type == REDIS_REPLY_INTEGER ? f[k]->integer : -1; };
      counts.messages = num("lag");  // entries not yet delivered to the group
      counts.in_flight = num("pending");
      counts.consumers = num("consumers");
    }
    if (z->type == REDIS_REPLY_INTEGER && counts.messages >= 0) counts.messages += z->integer;
    return qplug::sdk::write_queue_info(info, counts, "redis", st);
  });
}

// ---------------------------------------------------------------------------
// Publish
// ---------------------------------------------------------------------------
static int32_t rstream_publish(qplug_queue* qh, const qplug_message* const* msgs, size_t n,
                               const qplug_publish_options* options, qplug_publish_done_fn done, void* done_ud,
                               size_t* accepted, qplug_status* st) {
  if (accepted != nullptr) *accepted = 0;
  return guarded<int32_t>(st, QPLUG_INTERNAL, [&]() -> int32_t {
    rstream_queue* q = rstream_q(qh);
    // The SDK's one rule set, so a message redis accepts is accepted by every driver.
    if (int32_t rc = qplug::sdk::check_batch(msgs, n, q->publish_where, {}, st); rc != QPLUG_OK) return rc;
    const int64_t timeout_ms = qplug::sdk::publish_timeout_ms(options, q->drv->settings.publish_timeout_ms);
    std::string maxlen = std::to_string(q->opts.maxlen);
    rs::WriteJob job;
    job.what = "XADD";
    job.cmds.reserve(n);
    rs::EncodedFields fields;
    std::vector<std::string_view> argv;  // reused: no allocation per message
    std::vector<qplug_header> kept;      // headers of a delayed message, without `delay`
    for (size_t i = 0; i < n; ++i) {
      qplug::sdk::ScheduleHeaders sched;
      if (qplug::sdk::may_have_schedule_headers(*msgs[i]))
        if (int32_t rc = qplug::sdk::read_schedule_headers(*msgs[i], i, "redis", &sched, st); rc != QPLUG_OK) return rc;
      if (sched.delay_index != qplug::sdk::ScheduleHeaders::kNone) {
        // The `delay` header is consumed here, never stored: a delivery does
        // not show it, so a message republished from a delivery is not
        // delayed twice.
        qplug_message m = *msgs[i];
        kept.assign(m.headers, m.headers + m.header_count);
        kept.erase(kept.begin() + static_cast<std::ptrdiff_t>(sched.delay_index));
        m.headers = kept.data();
        m.header_count = kept.size();
        if (!rs::encode_fields(m, &fields, st)) return st->code;
      } else if (!rs::encode_fields(*msgs[i], &fields, st)) {
        return st->code;
      }
      if (sched.delay_ms > 0) {
        std::string delay = std::to_string(sched.delay_ms);
        rs::schedule_argv(q->delayed_set, q->delayed_msgs, delay, fields.argv, &argv);
        job.cmds.emplace_back(argv);
        continue;
      }
      argv.clear();
      argv.push_back("XADD");
      argv.push_back(q->key);
      if (q->opts.maxlen > 0) {
        argv.push_back("MAXLEN");
        argv.push_back("~");
        argv.push_back(maxlen);
      }
      argv.push_back("*");
      argv.insert(argv.end(), fields.argv.begin(), fields.argv.end());
      job.cmds.emplace_back(argv);
    }
    // Saturates: a huge publish_timeout means "wait long", never a deadline in the past.
    const auto deadline = qplug::sdk::deadline_after<rs::Clock>(timeout_ms);
    job.deadline = deadline;
    if (done != nullptr) {
      job.done = done;
      job.done_ud = done_ud;
      return q->drv->writer->submit(std::move(job), n, deadline, st);
    }
    qplug::sdk::Waiter waiter;
    job.done = &qplug::sdk::Waiter::on_done;
    job.done_ud = &waiter;
    // We wait anyway: write it ourselves when the writer is idle (no handoff).
    if (!q->drv->writer->run_inline(job))
      if (int32_t rc = q->drv->writer->submit(std::move(job), n, deadline, st); rc != QPLUG_OK) return rc;
    return waiter.wait_result(accepted, st);
  });
}

// ---------------------------------------------------------------------------
// Consume
// ---------------------------------------------------------------------------
static qplug_consumer* rstream_subscribe(qplug_queue* qh, const qplug_subscribe_options* options,
                                         qplug_deliver_fn deliver_cb, void* host_ud, qplug_status* st) {
  return guarded<qplug_consumer*>(st, nullptr, [&]() -> qplug_consumer* {
    rstream_queue* q = rstream_q(qh);
    rstream_driver* drv = q->drv;
    qplug::sdk::SubscribeRequest req;
    if (!qplug::sdk::read_subscribe_request("redis", q->key, options, deliver_cb, &req, st)) return nullptr;
    rs::SubscriptionParams p;
    p.key = q->key;
    p.delayed_set = q->delayed_set;
    p.delayed_msgs = q->delayed_msgs;
    p.maxlen = q->opts.maxlen;
    p.group = rstream_group_of(q);
    p.deliver = deliver_cb;
    p.host_ud = host_ud;
    if (req.prefetch > 0) p.prefetch = req.prefetch;
    if (!req.group.empty()) p.group = std::string(req.group);
    p.consumer = std::string(req.consumer_name);
    if (!rs::parse_consumer_settings(req.options, req.option_count, drv->settings, &p.options, st)) return nullptr;
    if (p.consumer.empty())
      p.consumer = drv->settings.consumer_prefix + "-" + std::to_string(getpid()) + "-" +
                   std::to_string(++drv->consumer_counter);
    auto sub = std::make_shared<rs::Subscription>(drv->writer, drv->settings, drv->host, std::move(p));
    if (!sub->start(st)) return nullptr;
    return reinterpret_cast<qplug_consumer*>(new rstream_consumer{std::move(sub)});
  });
}

static int32_t rstream_settle(qplug_delivery* dh, int32_t disposition, qplug_status* st) {
  return guarded<int32_t>(st, QPLUG_INTERNAL, [&]() -> int32_t {
    auto* d = reinterpret_cast<rs::Delivery*>(dh);
    if (disposition != QPLUG_ACK && disposition != QPLUG_NACK_REQUEUE && disposition != QPLUG_REJECT) {
      disposition = QPLUG_NACK_REQUEUE;  // never drop on a bad argument; still settles once
      fail(st, QPLUG_INVALID, false, "redis settle: unknown disposition; the message was requeued");
      std::shared_ptr<rs::Subscription> sub = d->sub;
      sub->settle(d, disposition, nullptr);
      return QPLUG_INVALID;
    }
    std::shared_ptr<rs::Subscription> sub = d->sub;  // keeps it alive through settle
    return sub->settle(d, disposition, st);
  });
}

static int32_t rstream_unsubscribe(qplug_consumer* c, qplug_status* st) {
  return guarded<int32_t>(st, QPLUG_INTERNAL,
                          [&]() -> int32_t { return reinterpret_cast<rstream_consumer*>(c)->sub->unsubscribe(st); });
}

static void rstream_consumer_free(qplug_consumer* c) {
  guarded_void([&] {
    std::unique_ptr<rstream_consumer> consumer(reinterpret_cast<rstream_consumer*>(c));
    qplug_status st = qplug::sdk::make_status();
    consumer->sub->unsubscribe(&st);  // no-op when already unsubscribed
  });
}

// ---------------------------------------------------------------------------
// Vtable
// ---------------------------------------------------------------------------
static const char* rstream_config_schema() {
  return R"({"$schema":"https://json-schema.org/draft/2020-12/schema","title":"qplug redis driver","type":"object",
"additionalProperties":false,"properties":{
"url":{"type":"string","default":"redis://127.0.0.1:6379/0","description":"redis://[user:pass@]host:port/db"},
"connect_timeout":{"type":["string","integer"],"default":"2s"},
"command_timeout":{"type":["string","integer"],"default":"5s"},
"reconnect.initial_delay":{"type":["string","integer"],"default":"100ms","description":"alias (deprecated): reconnect.initial"},
"reconnect.max_delay":{"type":["string","integer"],"default":"5s","description":"alias (deprecated): reconnect.max"},
"heartbeat":{"type":["string","integer"],"default":0,"description":"PING an idle publishing connection this often; 0 = off"},
"client_name":{"type":"string","description":"CLIENT SETNAME on every connection; default: none"},
"publish_timeout":{"type":["string","integer"],"default":"5s","description":"how long a publish waits through an outage"},
"claim_idle":{"type":["string","integer"],"default":"30s","description":"pending entries idle this long are reclaimed"},
"block":{"type":["string","integer"],"default":"1s","description":"XREADGROUP BLOCK per poll"},
"maxlen":{"type":"integer","default":0,"description":"approximate MAXLEN trimming; 0 = off. Trimming drops unacked entries"},
"max_pending":{"type":"integer","default":65536},
"key_prefix":{"type":"string","default":""},
"consumer_prefix":{"type":"string","description":"default: the host name"}}})";
}

static const qplug_driver_v1 rstream_vtable = {
    .struct_size = sizeof(qplug_driver_v1),
    .abi_major = QPLUG_ABI_MAJOR,
    .abi_minor = QPLUG_ABI_MINOR,
    .name = "redis",
    .version = "0.1.0",
    .description = "Redis streams (consumer groups, XADD/XREADGROUP/XACK/XAUTOCLAIM) via hiredis",
    .capabilities = QPLUG_CAP_PERSISTENT | QPLUG_CAP_ACK_AFTER_PROCESSING | QPLUG_CAP_NACK_REQUEUE | QPLUG_CAP_ORDERED |
                    QPLUG_CAP_COMPETING_CONSUMERS | QPLUG_CAP_BATCH_PUBLISH | QPLUG_CAP_ASYNC_PUBLISH |
                    QPLUG_CAP_CONSUMER_GROUPS | QPLUG_CAP_DELIVERY_COUNT | QPLUG_CAP_QUEUE_INFO |
                    QPLUG_CAP_HEADER_TYPES | QPLUG_CAP_DELAY,
    .config_schema = rstream_config_schema,
    .open = rstream_open,
    .close = rstream_close,
    .declare = rstream_declare,
    .publish = rstream_publish,
    .subscribe = rstream_subscribe,
    .settle = rstream_settle,
    .unsubscribe = rstream_unsubscribe,
    .consumer_free = rstream_consumer_free,
    .queue_info = rstream_queue_info,
    .instance_capabilities = nullptr,  // every instance can do the same
};

// Version negotiation by the SDK's one rule (sdk/entry.hpp).
extern "C" QPLUG_EXPORT const qplug_driver_v1* qplug_driver_entry(uint32_t host_major, uint32_t host_minor,
                                                                  qplug_status* status) {
  return qplug::sdk::negotiate_entry(rstream_vtable, host_major, host_minor, status);
}
