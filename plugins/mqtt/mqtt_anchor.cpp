// mqtt_anchor.cpp -- see mqtt_anchor.hpp.
#include "mqtt_anchor.hpp"

#include <unistd.h>

#include <atomic>
#include <mutex>
#include <qplug/sdk/status.hpp>

#include "mqtt_connection.hpp"
#include "mqtt_drain.hpp"

namespace qplug::mqtt {
namespace {
std::atomic<unsigned> g_probe{0};

SessionOptions anchor_session(const std::string& group, const std::string& topic) {
  SessionOptions o;
  o.client_id = anchor_client_id(group, topic);
  o.durable = true;
  return o;
}

// A connection that only puts the anchor session into its group and leaves
// (ensure_anchor, AnchorHold). It leaves at its SUBACK (Connection::subscribe,
// leave_at_suback), so it is handed only what came before. Receive Maximum 1
// makes that hand-over exact: the broker sends the next delivery only after
// it read the PUBACK of the previous one, so when the close resets the
// connection (the kernel does when a delivery is still unread), no PUBACK of
// a message handed over is lost, and the unread one stays the session's.
// With the library's default window a renewal after a restart handed
// hundreds of a 3000-message backlog over twice: the reset lost the PUBACKs
// the broker had not read yet, and it sent those messages again
// (mqtt.MqttDriver.RenewingAnAnchorWithABacklogDuplicatesNothing). It does
// not reconnect: another connection of the session took it over.
SessionOptions joining_session(const std::string& group, const std::string& topic) {
  SessionOptions o = anchor_session(group, topic);
  o.receive_maximum = 1;
  o.reconnect = false;
  return o;
}
}  // namespace

int32_t read_queue_state(const Settings& s, const sdk::HostLog& log, const std::string& group, const std::string& topic,
                         std::string* state, qplug_status* st) {
  SessionOptions o;
  o.client_id = s.client_name + "-probe-" + std::to_string(::getpid()) + "-" + std::to_string(g_probe.fetch_add(1));
  Connection c(s, o, log);
  const std::string state_topic = queue_state_topic(group, topic);
  std::mutex mu;
  std::string seen;
  c.on_message([&](const mosquitto_message& m, const mosquitto_property*) {
    std::lock_guard lock(mu);
    if (m.topic != nullptr && state_topic == m.topic)
      seen.assign(static_cast<const char*>(m.payload), static_cast<size_t>(m.payloadlen));
  });
  if (int32_t rc = c.connect(st); rc != QPLUG_OK) return rc;
  if (int32_t rc = c.subscribe(state_topic, 1, st); rc != QPLUG_OK) return rc;
  // The broker sends the retained message right behind the SUBACK; the
  // PUBACK of a publish made after it comes later on the same connection.
  if (int32_t rc = c.publish_and_wait(marker_topic(o.client_id), "probe", false, st); rc != QPLUG_OK) return rc;
  c.disconnect(false);
  std::lock_guard lock(mu);
  *state = seen;
  return QPLUG_OK;
}

int32_t ensure_anchor(const Settings& s, const sdk::HostLog& log, Publisher& publisher, const std::string& group,
                      const std::string& topic, qplug_status* st) {
  SessionOptions o = joining_session(group, topic);
  Connection c(s, o, log);
  Drain pushed(marker_topic(o.client_id));
  // An existing anchor session is handed its queued messages as soon as it
  // connects; they are kept and republished into the group below.
  c.on_message([&](const mosquitto_message& m, const mosquitto_property* p) { pushed.take(m, p); });
  if (int32_t rc = c.connect(st); rc != QPLUG_OK) return rc;
  // Subscribed every time, not only for a new session: a session that
  // exists may have left the group (a drain that stopped half-way).
  const int32_t rc = c.subscribe(share_topic(group, topic), s.qos, st, /*leave_at_suback=*/true);
  c.disconnect(false);
  // What arrived was acknowledged: republish it whether or not the subscribe worked.
  qplug_status rst = sdk::make_status();
  if (int32_t rrc = pushed.republish(publisher, topic, s.publish_timeout_ms, &rst); rrc != QPLUG_OK) {
    log.error("anchor '%s': %zu messages not republished: %s", o.client_id.c_str(), pushed.size(), rst.message);
    if (rc == QPLUG_OK && st != nullptr) *st = rst;
    return rc == QPLUG_OK ? rrc : rc;
  }
  if (rc != QPLUG_OK) return rc;
  return publisher.publish_retained(queue_state_topic(group, topic), kStateAnchor, st);
}

int32_t AnchorHold::hold(const Settings& s, const sdk::HostLog& log, const std::string& group, const std::string& topic,
                         qplug_status* st) {
  SessionOptions o = joining_session(group, topic);
  topic_ = topic;
  conn_ = std::make_unique<Connection>(s, o, log);
  pushed_ = std::make_unique<Drain>(marker_topic(o.client_id));
  conn_->on_message(
      [p = pushed_.get()](const mosquitto_message& m, const mosquitto_property* props) { p->take(m, props); });
  if (int32_t rc = conn_->connect(st); rc != QPLUG_OK) return rc;
  return conn_->subscribe(share_topic(group, topic), s.qos, st, /*leave_at_suback=*/true);
}

void AnchorHold::release(Publisher& publisher, const sdk::HostLog& log) {
  if (!conn_) return;
  conn_->disconnect(false);
  qplug_status st = sdk::make_status();
  if (pushed_->republish(publisher, topic_, publisher.settings().publish_timeout_ms, &st) != QPLUG_OK)
    log.error("anchor of '%s': %zu messages not republished after a reconnect, lost: %s", topic_.c_str(),
              pushed_->size(), st.message);
}

int32_t drain_anchor(const Settings& s, const sdk::HostLog& log, Publisher& publisher, const std::string& group,
                     const std::string& topic, qplug_status* st) {
  SessionOptions o = anchor_session(group, topic);
  Connection c(s, o, log);
  Drain drain(marker_topic(o.client_id));
  c.on_message([&](const mosquitto_message& m, const mosquitto_property* p) { drain.take(m, p); });
  if (int32_t rc = c.connect(st); rc != QPLUG_OK) return rc;
  int32_t rc = QPLUG_OK;
  if (c.session_present()) {
    rc = c.subscribe(drain.marker_topic(), 1, st);
    if (rc == QPLUG_OK) rc = c.unsubscribe(share_topic(group, topic), st);
    if (rc == QPLUG_OK) rc = drain.wait_for_marker(c, s.publish_timeout_ms, st);
  }
  // Only a fully drained anchor is forgotten; otherwise it keeps what it
  // still holds and stays in the group, and the next subscribe tries again.
  c.disconnect(rc == QPLUG_OK);
  // What arrived was acknowledged when its callback returned: republish it
  // whether or not the drain completed.
  qplug_status rst = sdk::make_status();
  if (int32_t rrc = drain.republish(publisher, topic, s.publish_timeout_ms, &rst); rrc != QPLUG_OK) {
    log.error("anchor '%s': %zu drained messages could not be republished and are lost: %s", o.client_id.c_str(),
              drain.size(), rst.message);
    if (rc == QPLUG_OK && st != nullptr) *st = rst;
    return rc == QPLUG_OK ? rrc : rc;
  }
  if (rc != QPLUG_OK) return rc;
  return publisher.publish_retained(queue_state_topic(group, topic), kStateLive, st);
}

}  // namespace qplug::mqtt
