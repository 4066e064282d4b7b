// mqtt_driver.cpp -- qplug driver for MQTT v5 brokers (libmosquitto).
//
// A queue is a topic (topic_prefix + queue name). Publishes go through one
// shared connection (mqtt_publisher); each subscription is a durable session
// in the shared subscription $share/<group>/<topic> (mqtt_consumer); an
// anchor session keeps a group's messages while it has no member
// (mqtt_anchor). Settings, property mapping and guarantees: docs/drivers/mqtt.md.
#include <qplug/driver.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <qplug/sdk/config.hpp>
#include <qplug/sdk/entry.hpp>
#include <qplug/sdk/host_log.hpp>
#include <qplug/sdk/message.hpp>
#include <qplug/sdk/publish_timeout.hpp>
#include <qplug/sdk/schedule_headers.hpp>
#include <qplug/sdk/status.hpp>
#include <qplug/sdk/subscribe.hpp>
#include <qplug/sdk/validate.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "mqtt_anchor.hpp"
#include "mqtt_consumer.hpp"
#include "mqtt_properties.hpp"
#include "mqtt_publisher.hpp"
#include "mqtt_settings.hpp"

struct qplug_driver {
  qplug::mqtt::Settings settings;
  qplug::sdk::HostLog log;
  std::shared_ptr<qplug::mqtt::Publisher> publisher;  // shared with deliveries (settle after close)
  std::mutex mu;                                      // queues, client IDs
  std::map<std::string, std::unique_ptr<qplug_queue>, std::less<>> queues;
  std::set<std::string> client_ids;  // consumer sessions open in this instance
  std::mutex topics_mu;              // not mu: declare holds mu while it waits for the publisher
  std::vector<std::string> topics;   // declared queues, re-anchored after a reconnect
  std::mutex consumers_mu;           // not mu, for the same reason as topics_mu
  // Subscribed (-> their queue's topic): waited for after a reconnect, counted by queue_info.
  std::map<qplug::mqtt::Consumer*, std::string> consumers;
  std::mutex releasers_mu;
  std::vector<std::thread> releasers;  // hand back what re-anchored sessions were sent; joined in close
};

struct qplug_queue {
  qplug_driver* driver;
  std::string name;
  std::string topic;
};

struct qplug_consumer {
  qplug_driver* driver;
  std::string client_id;
  std::unique_ptr<qplug::mqtt::Consumer> consumer;
};

namespace qplug::mqtt {
namespace {
using sdk::fail;
using sdk::guarded;
constexpr uint32_t kDefaultPrefetch = 16;

bool valid_utf8(const std::string& s) { return mosquitto_validate_utf8(s.c_str(), static_cast<int>(s.size())) == 0; }

// After the publisher reconnected (the broker may have restarted) and before
// it sends anything: subscribe the anchors of this instance's queues again
// (mqtt_anchor.hpp, AnchorHold), so nothing published now finds an empty group.
void reanchor(qplug_driver* d) {
  std::vector<std::string> topics;
  {
    std::lock_guard lock(d->topics_mu);
    topics = d->topics;
  }
  const std::string group(kDefaultGroup);
  auto holds = std::make_shared<std::vector<std::unique_ptr<AnchorHold>>>();
  for (const std::string& topic : topics) {
    std::string state;
    qplug_status st = sdk::make_status();
    if (read_queue_state(d->settings, d->log, group, topic, &state, &st) != QPLUG_OK) {
      d->log.warn("after a reconnect: state of '%s' unknown (%s); anchor not renewed", topic.c_str(), st.message);
      continue;
    }
    if (state == kStateLive) continue;  // its consumers subscribe again by themselves
    auto h = std::make_unique<AnchorHold>();
    if (h->hold(d->settings, d->log, group, topic, &st) != QPLUG_OK)
      d->log.warn("after a reconnect: anchor of '%s' not renewed: %s", topic.c_str(), st.message);
    holds->push_back(std::move(h));
  }
  // This instance's own consumers subscribe again when their connections are
  // back; until then a message for a live group matches no working
  // subscription and mosquitto drops it. Wait (bounded) for them too.
  {
    const auto deadline = sdk::deadline_after(d->settings.connect_timeout_ms);
    std::lock_guard lock(d->consumers_mu);
    for (const auto& [c, topic] : d->consumers)
      if (!c->wait_resubscribed(deadline)) d->log.warn("after a reconnect: a consumer is not subscribed again yet");
  }
  if (holds->empty()) return;
  std::lock_guard lock(d->releasers_mu);
  d->releasers.emplace_back([d, holds] {
    for (auto& h : *holds) h->release(*d->publisher, d->log);
  });
}

qplug_driver* op_open(const qplug_host_v1* host, const qplug_kv* config, size_t count, qplug_status* st) {
  return guarded<qplug_driver*>(st, nullptr, [&]() -> qplug_driver* {
    auto d = std::make_unique<qplug_driver>();
    if (!read_settings(config, count, &d->settings, st)) return nullptr;
    d->log = sdk::HostLog(host, "mqtt");
    sdk::ConfigReader::log_config_warnings(host, "mqtt", d->settings.warnings);
    d->publisher = std::make_shared<Publisher>(d->settings, d->log);
    d->publisher->on_reconnect([raw = d.get()] { reanchor(raw); });
    if (d->publisher->open(st) != QPLUG_OK) return nullptr;
    return d.release();
  });
}

void op_close(qplug_driver* d, uint32_t /*timeout_ms: close waits at most publish_timeout (2 s cap) for PUBACKs*/) {
  sdk::guarded_void([&] {
    const auto join_releasers = [d] {
      std::lock_guard lock(d->releasers_mu);
      for (auto& t : d->releasers)
        if (t.joinable()) t.join();
    };
    join_releasers();
    d->publisher->close();
    // A reconnect while close() ran may have started one more releaser
    // (reanchor, on the network thread): a joinable thread destroyed with
    // the driver would std::terminate the host.
    join_releasers();
    delete d;
  });
}

qplug_queue* op_declare(qplug_driver* d, qplug_str name, const qplug_kv* options, size_t count, qplug_status* st) {
  return guarded<qplug_queue*>(st, nullptr, [&]() -> qplug_queue* {
    std::string n(sdk::view(name));
    if (n.empty()) return fail(st, QPLUG_INVALID, false, "mqtt: empty queue name"), nullptr;
    std::string topic = d->settings.topic_prefix + n;
    if (n.find('\0') != std::string::npos || !valid_utf8(n) || mosquitto_pub_topic_check(topic.c_str()) != 0)
      return fail(st, QPLUG_INVALID, false, "mqtt: queue name '%s' is not usable in a topic (UTF-8, no + or #)",
                  n.c_str()),
             nullptr;
    sdk::ConfigReader cfg(options, count);
    if (!cfg.finish(st, "mqtt queue options")) return nullptr;
    std::lock_guard lock(d->mu);
    if (auto it = d->queues.find(n); it != d->queues.end()) return it->second.get();
    const std::string group(kDefaultGroup);
    std::string state;
    if (read_queue_state(d->settings, d->log, group, topic, &state, st) != QPLUG_OK) return nullptr;
    if (state.empty() && ensure_anchor(d->settings, d->log, *d->publisher, group, topic, st) != QPLUG_OK)
      return nullptr;
    auto q = std::make_unique<qplug_queue>(qplug_queue{d, n, topic});
    qplug_queue* out = q.get();
    d->queues.emplace(n, std::move(q));
    std::lock_guard topics_lock(d->topics_mu);
    d->topics.push_back(topic);
    return out;
  });
}

// The `delay` headers of a batch as due times (docs/drivers/mqtt.md,
// "Delay"). The header itself is consumed, as on every driver: a delivery
// does not show it, so a message republished from a delivery is not delayed
// twice. `views` gets the batch as published (copies without `delay` where
// it had one); `due` stays empty when no message is delayed.
struct DelayedBatch {
  std::vector<const qplug_message*> views;
  std::vector<int64_t> due;
  std::vector<qplug_message> copies;
  std::vector<std::vector<qplug_header>> headers;
};

int32_t read_delays(const qplug_driver* d, const qplug_message* const* msgs, size_t n, DelayedBatch* out,
                    qplug_status* st) {
  bool any = false;
  for (size_t i = 0; i < n && !any; ++i) any = sdk::may_have_schedule_headers(*msgs[i]);
  if (!any) return QPLUG_OK;
  out->views.assign(msgs, msgs + n);
  out->due.assign(n, 0);
  out->copies.resize(n);
  out->headers.resize(n);
  // Now rounded UP to the millisecond, so a message is never due before
  // publish time + delay (consumers compare against epoch_ms(), rounded down).
  const int64_t now = epoch_ms() + 1;
  for (size_t i = 0; i < n; ++i) {
    if (!sdk::may_have_schedule_headers(*msgs[i])) continue;
    sdk::ScheduleHeaders sched;
    if (int32_t rc = sdk::read_schedule_headers(*msgs[i], i, "mqtt", &sched, st); rc != QPLUG_OK) return rc;
    if (sched.delay_index == sdk::ScheduleHeaders::kNone) continue;
    // Without the spool a consumer has no durable place for a message that
    // is not due yet: refused out loud (the instance does not claim delay).
    if (sched.delay_ms > 0 && !d->settings.spool.enabled)
      return fail(st, QPLUG_INVALID, false,
                  "mqtt: message #%zu: header 'delay' is not supported by this driver instance: delayed messages "
                  "wait in the consumers' spool, and spool.enabled is false",
                  i);
    out->copies[i] = *msgs[i];
    out->headers[i].assign(msgs[i]->headers, msgs[i]->headers + msgs[i]->header_count);
    out->headers[i].erase(out->headers[i].begin() + static_cast<std::ptrdiff_t>(sched.delay_index));
    out->copies[i].headers = out->headers[i].data();
    out->copies[i].header_count = out->headers[i].size();
    out->views[i] = &out->copies[i];
    if (sched.delay_ms > 0) out->due[i] = sched.delay_ms > INT64_MAX - now ? INT64_MAX : now + sched.delay_ms;
  }
  return QPLUG_OK;
}

int32_t op_publish(qplug_queue* q, const qplug_message* const* msgs, size_t n, const qplug_publish_options* options,
                   qplug_publish_done_fn done, void* done_ud, size_t* accepted, qplug_status* st) {
  if (accepted != nullptr) *accepted = 0;
  return guarded<int32_t>(st, QPLUG_INTERNAL, [&]() -> int32_t {
    std::string where = "mqtt: publish to '" + q->name + "'";
    if (int32_t rc = sdk::check_batch(msgs, n, where, {}, st); rc != QPLUG_OK) return rc;
    DelayedBatch delayed;
    if (int32_t rc = read_delays(q->driver, msgs, n, &delayed, st); rc != QPLUG_OK) return rc;
    const int64_t timeout = sdk::publish_timeout_ms(options, q->driver->settings.publish_timeout_ms);
    if (delayed.views.empty())
      return q->driver->publisher->publish(q->topic, msgs, n, nullptr, timeout, done, done_ud, accepted, st);
    return q->driver->publisher->publish(q->topic, delayed.views.data(), n, nullptr, timeout, done, done_ud, accepted,
                                         st, delayed.due.data());
  });
}

qplug_consumer* op_subscribe(qplug_queue* q, const qplug_subscribe_options* o, qplug_deliver_fn cb, void* ud,
                             qplug_status* st) {
  return guarded<qplug_consumer*>(st, nullptr, [&]() -> qplug_consumer* {
    qplug_driver* d = q->driver;
    sdk::SubscribeRequest req;
    if (!sdk::read_subscribe_request("mqtt", q->topic, o, cb, &req, st)) return nullptr;
    if (d->settings.client_id.empty())
      return fail(st, QPLUG_INVALID, false,
                  "mqtt: consumers need the driver key 'client_id', stable per process (e.g. ${HOSTNAME}-worker1), "
                  "so a restarted process resumes its durable session"),
             nullptr;
    const uint32_t prefetch = req.prefetch;
    std::string group(req.group);
    if (group.empty()) group = kDefaultGroup;
    if (group.find_first_of("/+#") != std::string::npos || !valid_utf8(group))
      return fail(st, QPLUG_INVALID, false, "mqtt: group '%s' must be UTF-8 without / + or #", group.c_str()), nullptr;
    sdk::ConfigReader cfg(req.options, req.option_count);
    if (!cfg.finish(st, "mqtt consumer options")) return nullptr;
    ConsumerConfig cc;
    cc.topic = q->topic;
    cc.group = group;
    cc.prefetch = prefetch == 0 ? kDefaultPrefetch : prefetch;
    cc.deliver = cb;
    cc.host_ud = ud;
    {
      std::lock_guard lock(d->mu);
      // Members are numbered in subscribe order, so a restarted process that
      // subscribes the same way resumes the same sessions. The consumer name
      // is not part of the session ID: hosts make it unique per process
      // (`qplug run`: <entry>-<host>-<pid>-<n>), and a restarted process with
      // a new name left its old session offline in the group, taking its
      // round-robin share of messages until session_expiry (chaos suite:
      // 502 of 10000 lost after one SIGKILL).
      // The lowest member number not in use: a subscribe that failed (its
      // session may exist on the broker, with a spool) or an unsubscribe
      // frees its number, and the next subscribe resumes that session
      // instead of leaving it offline in the group.
      const std::string prefix = d->settings.client_id + ":" + q->topic + ":" + group + ":c";
      for (unsigned member = 0;; ++member) {
        cc.client_id = prefix + std::to_string(member);
        if (d->client_ids.insert(cc.client_id).second) break;
      }
    }
    auto c = std::make_unique<qplug_consumer>(qplug_consumer{d, cc.client_id, nullptr});
    c->consumer = std::make_unique<Consumer>(d->settings, d->log, d->publisher, cc);
    if (c->consumer->start(st) != QPLUG_OK) {
      c->consumer.reset();
      std::lock_guard lock(d->mu);
      d->client_ids.erase(cc.client_id);
      return nullptr;
    }
    std::lock_guard lock(d->consumers_mu);
    d->consumers.emplace(c->consumer.get(), q->topic);
    return c.release();
  });
}

// What this instance knows locally, never broker-wide (so no
// QPLUG_CAP_QUEUE_INFO): ready messages unknown (-1); in_flight = what this
// process's consumers of the queue hold (scheduled delayed messages,
// unsettled deliveries, spool entries not replayed yet); consumers = this
// process's subscriptions. `qplug run --exit-when-idle` reads it (docs/cli.md).
int32_t op_queue_info(qplug_queue* q, qplug_queue_info* info, qplug_status* st) {
  return guarded<int32_t>(st, QPLUG_INTERNAL, [&]() -> int32_t {
    int64_t held = 0, consumers = 0;
    {
      std::lock_guard lock(q->driver->consumers_mu);
      for (const auto& [c, topic] : q->driver->consumers) {
        if (topic != q->topic) continue;
        ++consumers;
        held += static_cast<int64_t>(c->held());
      }
    }
    info->messages = -1;
    info->in_flight = held;
    info->consumers = consumers;
    return QPLUG_OK;
  });
}

int32_t op_settle(qplug_delivery* delivery, int32_t disposition, qplug_status* st) {
  return guarded<int32_t>(st, QPLUG_INTERNAL, [&] { return Consumer::settle(delivery, disposition, st); });
}

// Removes a consumer from the reconnect wait before it stops.
void forget(qplug_consumer* c) {
  std::lock_guard lock(c->driver->consumers_mu);
  c->driver->consumers.erase(c->consumer.get());
}

int32_t op_unsubscribe(qplug_consumer* c, qplug_status* st) {
  return guarded<int32_t>(st, QPLUG_INTERNAL, [&]() -> int32_t {
    forget(c);
    c->consumer->stop();
    return QPLUG_OK;
  });
}

void op_consumer_free(qplug_consumer* c) {
  sdk::guarded_void([&] {
    forget(c);
    c->consumer.reset();  // stops first when unsubscribe was not called
    std::lock_guard lock(c->driver->mu);
    c->driver->client_ids.erase(c->client_id);
    delete c;
  });
}

// What an instance does with the default settings (what `qplug drivers`
// lists). Honest: ack-after-processing only through the spool (the PUBACK
// leaves when the callback returns; the spool owns the message from then on),
// so op_instance_capabilities drops it for `spool.enabled: false`. No
// broker-side delivery count (MQTT has none), no native priority or
// dead-letter; no broker-wide queue counts (queue_info answers with what this
// process holds, without the bit); ordering is not promised (requeue and
// anchor hand-over republish). Delay: the consumers keep a message that is
// not due yet in their spool (mqtt_consumer.hpp), so it goes with the spool
// too: without it there is no durable place for a scheduled message.
constexpr uint64_t kCapabilities = QPLUG_CAP_PERSISTENT | QPLUG_CAP_ACK_AFTER_PROCESSING | QPLUG_CAP_NACK_REQUEUE |
                                   QPLUG_CAP_COMPETING_CONSUMERS | QPLUG_CAP_CONSUMER_GROUPS | QPLUG_CAP_ASYNC_PUBLISH |
                                   QPLUG_CAP_HEADER_TYPES | QPLUG_CAP_TTL | QPLUG_CAP_DELAY;

uint64_t op_instance_capabilities(qplug_driver* d) {
  return d->settings.spool.enabled ? kCapabilities
                                   : kCapabilities & ~(QPLUG_CAP_ACK_AFTER_PROCESSING | QPLUG_CAP_DELAY);
}

constexpr qplug_driver_v1 kVtable = {
    .struct_size = sizeof(qplug_driver_v1),
    .abi_major = QPLUG_ABI_MAJOR,
    .abi_minor = QPLUG_ABI_MINOR,
    .name = "mqtt",
    .version = "0.1.0",
    .description = "MQTT v5 (libmosquitto): durable shared-subscription sessions, QoS 1 publish confirms",
    .capabilities = kCapabilities,
    .config_schema = nullptr,
    .open = op_open,
    .close = op_close,
    .declare = op_declare,
    .publish = op_publish,
    .subscribe = op_subscribe,
    .settle = op_settle,
    .unsubscribe = op_unsubscribe,
    .consumer_free = op_consumer_free,
    .queue_info = op_queue_info,
    .instance_capabilities = op_instance_capabilities,
};

}  // namespace
}  // namespace qplug::mqtt

extern "C" QPLUG_EXPORT const qplug_driver_v1* qplug_driver_entry(uint32_t major, uint32_t minor, qplug_status* st) {
  return qplug::sdk::negotiate_entry(qplug::mqtt::kVtable, major, minor, st);
}
