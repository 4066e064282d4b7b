// mqtt_connection.cpp -- libmosquitto client lifecycle and blocking helpers.
#include "mqtt_connection.hpp"

#include <mqtt_protocol.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <qplug/sdk/publish_timeout.hpp>
#include <qplug/sdk/status.hpp>

#include "mqtt_properties.hpp"
#include "mqtt_tls.hpp"

namespace qplug::mqtt {
namespace {
std::once_flag g_lib_init;  // the host never dlcloses a plugin, so no cleanup
}

Connection::Connection(const Settings& settings, SessionOptions options, const sdk::HostLog& log)
    : settings_(settings), options_(std::move(options)), log_(log) {
  std::call_once(g_lib_init, [] { mosquitto_lib_init(); });
  mosq_ = mosquitto_new(options_.client_id.c_str(), !options_.durable, this);
  if (mosq_ == nullptr) throw std::bad_alloc();
  mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
  mosquitto_int_option(mosq_, MOSQ_OPT_TCP_NODELAY, 1);
  if (options_.receive_maximum > 0) mosquitto_int_option(mosq_, MOSQ_OPT_RECEIVE_MAXIMUM, options_.receive_maximum);
  if (options_.send_maximum > 0) mosquitto_int_option(mosq_, MOSQ_OPT_SEND_MAXIMUM, options_.send_maximum);
  if (!settings_.user.empty())
    mosquitto_username_pw_set(mosq_, settings_.user.c_str(),
                              settings_.password.empty() ? nullptr : settings_.password.c_str());
  const unsigned initial = static_cast<unsigned>(std::max<int64_t>(1, settings_.reconnect_initial_ms / 1000));
  const unsigned max = static_cast<unsigned>(std::max<int64_t>(initial, settings_.reconnect_max_ms / 1000));
  mosquitto_reconnect_delay_set(mosq_, initial, max, true);
  mosquitto_connect_v5_callback_set(mosq_, handle_connect);
  mosquitto_disconnect_v5_callback_set(mosq_, handle_disconnect);
  mosquitto_publish_v5_callback_set(mosq_, handle_publish);
  mosquitto_subscribe_v5_callback_set(mosq_, handle_subscribe);
  mosquitto_unsubscribe_v5_callback_set(mosq_, handle_unsubscribe);
  mosquitto_message_v5_callback_set(mosq_, handle_message);
  // Only for TLS, where it is how a failed handshake is seen: with a log
  // callback libmosquitto formats a debug line for every packet.
  if (settings_.tls.enabled) mosquitto_log_callback_set(mosq_, handle_log);
}

Connection::~Connection() {
  disconnect(false);
  mosquitto_destroy(mosq_);
}

Connection::Clock::time_point Connection::deadline() const { return sdk::deadline_after(settings_.connect_timeout_ms); }

int32_t Connection::connect(qplug_status* st) {
  if (int32_t rc = apply_tls(mosq_, settings_.tls, st); rc != QPLUG_OK) return rc;
  Properties props;
  if (options_.durable)
    mosquitto_property_add_int32(props.out(), MQTT_PROP_SESSION_EXPIRY_INTERVAL,
                                 static_cast<uint32_t>(settings_.session_expiry_s));
  int rc = mosquitto_connect_bind_v5(mosq_, settings_.host.c_str(), settings_.port, settings_.keepalive_s, nullptr,
                                     props.get());
  if (rc == MOSQ_ERR_TLS) return fail_before_connack(rc, st);
  if (rc != MOSQ_ERR_SUCCESS)
    return sdk::fail(st, QPLUG_UNAVAILABLE, true, "mqtt: cannot connect to %s: %s", settings_.address().c_str(),
                     rc == MOSQ_ERR_ERRNO ? std::strerror(errno) : mosquitto_strerror(rc));
  if (mosquitto_loop_start(mosq_) != MOSQ_ERR_SUCCESS)
    return sdk::fail(st, QPLUG_INTERNAL, false, "mqtt: cannot start the network thread");
  std::unique_lock lock(mu_);
  loop_running_ = true;
  // A TLS handshake runs on the network thread: its failure arrives as a
  // disconnect before any CONNACK, reported at once rather than as a timeout.
  if (!cv_.wait_until(lock, deadline(), [&] { return connack_rc_ >= 0 || lost_rc_ != 0; }))
    return sdk::fail(st, QPLUG_UNAVAILABLE, true, "mqtt: no CONNACK from %s within connect_timeout (%lld ms)",
                     settings_.address().c_str(), static_cast<long long>(settings_.connect_timeout_ms));
  if (connack_rc_ < 0) {
    const int lost = lost_rc_;
    lock.unlock();
    return fail_before_connack(lost, st);
  }
  if (connack_rc_ == MQTT_RC_NOT_AUTHORIZED || connack_rc_ == MQTT_RC_BAD_USERNAME_OR_PASSWORD)
    return sdk::fail(st, QPLUG_PERMISSION_DENIED, false, "mqtt: %s refused the credentials: %s",
                     settings_.address().c_str(), mosquitto_reason_string(connack_rc_));
  if (connack_rc_ != 0)
    return sdk::fail(st, QPLUG_UNAVAILABLE, true, "mqtt: %s refused the connection of '%s': %s",
                     settings_.address().c_str(), options_.client_id.c_str(), mosquitto_reason_string(connack_rc_));
  return QPLUG_OK;
}

int32_t Connection::fail_before_connack(int rc, qplug_status* st) {
  // The network thread has ended (a failed handshake is fatal to it) or is
  // stopped here, so the client's SSL object can be read.
  disconnect(false);
  const std::string line = last_error();
  if (!settings_.tls.enabled)
    return sdk::fail(st, QPLUG_UNAVAILABLE, true, "mqtt: connection to %s lost before its CONNACK: %s",
                     settings_.address().c_str(), line.empty() ? mosquitto_strerror(rc) : line.c_str());
  // A refused certificate stays refused: PERMISSION_DENIED, not retryable
  // (UNAVAILABLE is retryable by the ABI's contract, so `qplug run` would wait
  // for it forever). Anything else in the handshake (a reset, a broker
  // restarting) may pass on the next try.
  std::string refused;
  {
    std::lock_guard lock(log_mu_);
    refused = refusal_;
  }
  if (!refused.empty())
    return sdk::fail(st, QPLUG_PERMISSION_DENIED, false,
                     "mqtt: TLS handshake with %s failed: the server certificate was refused: %s (check tls.ca_file, "
                     "the certificate's validity and that it names the URL's host)",
                     settings_.address().c_str(), refused.c_str());
  return sdk::fail(st, QPLUG_UNAVAILABLE, true, "mqtt: TLS handshake with %s failed: %s", settings_.address().c_str(),
                   line.empty() ? mosquitto_strerror(rc) : line.c_str());
}

std::string Connection::last_error() const {
  std::lock_guard lock(log_mu_);
  return last_error_;
}

void Connection::handle_log(mosquitto* mosq, void* self, int level, const char* line) {
  if (level != MOSQ_LOG_ERR || line == nullptr) return;
  auto* c = static_cast<Connection*>(self);
  {
    std::lock_guard lock(c->log_mu_);
    // OpenSSL reports a queue of errors; the first names the cause.
    if (c->last_error_.empty() || std::strstr(line, "OpenSSL Error[0]") != nullptr) c->last_error_ = line;
    // The verify result is read here, on the network thread, while the SSL
    // object still exists: libmosquitto frees it when it closes the socket
    // right after this line, so connect() reading it later found nothing at
    // times and called a refused certificate retryable (MqttTls.* in CI).
    if (c->refusal_.empty() && is_openssl_error(line)) c->refusal_ = certificate_refusal(mosq);
  }
  // libmosquitto 2.0.11 reports a failed TLS handshake only here: no
  // disconnect callback follows and its network thread ends. Wake connect().
  // Taking mu_ is safe: error lines come from network I/O, which runs on the
  // network thread outside our callbacks or in connect() before mu_ is held.
  if (!is_openssl_error(line)) return;
  std::lock_guard lock(c->mu_);
  if (c->connack_rc_ < 0) c->lost_rc_ = MOSQ_ERR_TLS;
  c->cv_.notify_all();
}

bool Connection::session_present() const {
  std::lock_guard lock(mu_);
  return session_present_;
}

bool Connection::connected() const {
  std::lock_guard lock(mu_);
  return connected_;
}

bool Connection::wait_connected(Clock::time_point until) {
  std::unique_lock lock(mu_);
  return cv_.wait_until(lock, until, [&] { return connected_ || disconnected_; }) && connected_;
}

bool Connection::wait_resubscribed(Clock::time_point until) {
  std::unique_lock lock(mu_);
  return cv_.wait_until(lock, until, [&] { return disconnected_ || (connected_ && resubscribing_.empty()); }) &&
         connected_;
}

int32_t Connection::wait_for_ack(int mid, std::set<int>& acks, const char* what, const std::string& topic,
                                 qplug_status* st) {
  std::unique_lock lock(mu_);
  // Without reconnects a lost connection never brings the ack: stop waiting.
  const auto gone = [&] { return !options_.reconnect && !connected_; };
  if (!cv_.wait_until(lock, deadline(), [&] { return acks.count(mid) != 0 || gone(); }) || acks.count(mid) == 0)
    return sdk::fail(st, connected_ ? QPLUG_TIMEOUT : QPLUG_UNAVAILABLE, true,
                     gone() ? "mqtt: connection lost before the %s for '%s' from %s (taken over by another connection "
                              "of the session?)"
                            : "mqtt: no %s for '%s' from %s within connect_timeout",
                     what, topic.c_str(), settings_.address().c_str());
  acks.erase(mid);
  return QPLUG_OK;
}

int32_t Connection::subscribe(const std::string& topic, int qos, qplug_status* st, bool leave_at_suback) {
  int mid = 0;
  {
    std::lock_guard lock(mu_);  // the SUBACK callback takes it too: mid is recorded first
    subscriptions_.emplace_back(topic, qos);
    int rc = mosquitto_subscribe_v5(mosq_, &mid, topic.c_str(), qos, 0, nullptr);
    if (rc != MOSQ_ERR_SUCCESS) {
      subscriptions_.pop_back();
      return sdk::fail(st, rc == MOSQ_ERR_NO_CONN ? QPLUG_UNAVAILABLE : QPLUG_INVALID, rc == MOSQ_ERR_NO_CONN,
                       "mqtt: subscribe to '%s': %s", topic.c_str(), mosquitto_strerror(rc));
    }
    if (leave_at_suback) leave_at_suback_ = true;
  }
  int32_t rc = wait_for_ack(mid, subacks_, "SUBACK", topic, st);
  if (rc == QPLUG_OK) {
    std::lock_guard lock(mu_);
    if (subacks_.count(-mid) != 0) {  // refused: handle_subscribe stores -mid
      subacks_.erase(-mid);
      return sdk::fail(st, QPLUG_PERMISSION_DENIED, false, "mqtt: %s refused the subscription to '%s'",
                       settings_.address().c_str(), topic.c_str());
    }
  }
  return rc;
}

int32_t Connection::unsubscribe(const std::string& topic, qplug_status* st) {
  int mid = 0;
  {
    std::lock_guard lock(mu_);
    std::erase_if(subscriptions_, [&](const auto& s) { return s.first == topic; });
    int rc = mosquitto_unsubscribe_v5(mosq_, &mid, topic.c_str(), nullptr);
    if (rc != MOSQ_ERR_SUCCESS)
      return sdk::fail(st, QPLUG_UNAVAILABLE, true, "mqtt: unsubscribe from '%s': %s", topic.c_str(),
                       mosquitto_strerror(rc));
  }
  return wait_for_ack(mid, unsubacks_, "UNSUBACK", topic, st);
}

int32_t Connection::publish(const std::string& topic, const void* payload, size_t len, int qos, bool retain,
                            const mosquitto_property* props, int* mid, qplug_status* st) {
  if (len > 268435455)
    return sdk::fail(st, QPLUG_INVALID, false, "mqtt: a %zu-byte body is larger than MQTT allows (256 MB)", len);
  int rc = mosquitto_publish_v5(mosq_, mid, topic.c_str(), static_cast<int>(len), payload, qos, retain, props);
  if (rc == MOSQ_ERR_SUCCESS) return QPLUG_OK;
  // While disconnected, libmosquitto has queued a QoS 1/2 publish (with its
  // mid) before it answers NO_CONN, and sends it after reconnecting: it is in
  // flight, so the caller waits for its PUBACK (up to publish_timeout) like
  // for any other. Reporting it failed made callers that retry store it twice.
  if (rc == MOSQ_ERR_NO_CONN && qos > 0 && mid != nullptr && *mid != 0) return QPLUG_OK;
  const bool retry = rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST || rc == MOSQ_ERR_NOMEM;
  return sdk::fail(st, retry ? QPLUG_UNAVAILABLE : QPLUG_INVALID, retry, "mqtt: publish to '%s': %s", topic.c_str(),
                   mosquitto_strerror(rc));
}

int32_t Connection::publish_and_wait(const std::string& topic, const std::string& payload, bool retain,
                                     qplug_status* st) {
  int mid = 0;
  {
    std::lock_guard lock(mu_);
    if (int32_t rc = publish(topic, payload.data(), payload.size(), 1, retain, nullptr, &mid, st); rc != QPLUG_OK)
      return rc;
  }
  return wait_for_ack(mid, pubacks_, "PUBACK", topic, st);
}

void Connection::disconnect(bool end_session) {
  {
    std::lock_guard lock(mu_);
    if (!loop_running_) return;
    loop_running_ = false;
  }
  Properties props;
  if (end_session && options_.durable) mosquitto_property_add_int32(props.out(), MQTT_PROP_SESSION_EXPIRY_INTERVAL, 0);
  mosquitto_disconnect_v5(mosq_, MQTT_RC_NORMAL_DISCONNECTION, props.get());
  mosquitto_loop_stop(mosq_, false);
}

void Connection::handle_connect(mosquitto* m, void* self, int rc, int flags, const mosquitto_property*) {
  auto* c = static_cast<Connection*>(self);
  std::vector<std::pair<std::string, int>> again;
  bool first = false;
  {
    std::lock_guard lock(c->mu_);
    c->connack_rc_ = rc;
    c->connected_ = rc == 0;
    c->session_present_ = (flags & 1) != 0;
    if (rc == 0) again = c->subscriptions_;
    if (rc == 0) first = c->connects_++ == 0;
    c->cv_.notify_all();
  }
  // After a reconnect the subscriptions are made again, also when the
  // session is present: mosquitto 2.0.11 restores a resumed session's
  // shared subscription from its persistence file without delivering to it
  // (Full.BrokerRestartMidStream). Subscribing again is idempotent. Their
  // SUBACKs are not waited for; the first connect has none yet.
  for (const auto& [topic, qos] : again) {
    std::lock_guard lock(c->mu_);  // the SUBACK cannot be handled before the mid is recorded: same thread
    int mid = 0;
    if (mosquitto_subscribe_v5(m, &mid, topic.c_str(), qos, 0, nullptr) == MOSQ_ERR_SUCCESS)
      c->resubscribing_.insert(mid);
  }
  if (rc == 0 && c->on_connected_) c->on_connected_(first);
  if (rc != 0) c->log_.warn("connection '%s' refused: %s", c->options_.client_id.c_str(), mosquitto_reason_string(rc));
}

void Connection::handle_disconnect(mosquitto* m, void* self, int rc, const mosquitto_property*) {
  auto* c = static_cast<Connection*>(self);
  // Disconnecting here is what stops libmosquitto's own reconnect loop.
  if (rc != 0 && !c->options_.reconnect) mosquitto_disconnect_v5(m, MQTT_RC_NORMAL_DISCONNECTION, nullptr);
  std::lock_guard lock(c->mu_);
  if (rc != 0 && c->connected_ && c->options_.reconnect)
    c->log_.warn("connection '%s' lost (%s); reconnecting", c->options_.client_id.c_str(), mosquitto_strerror(rc));
  c->connected_ = false;
  c->resubscribing_.clear();  // a new connection subscribes again
  if (!c->loop_running_) c->disconnected_ = true;
  c->cv_.notify_all();
}

void Connection::handle_publish(mosquitto*, void* self, int mid, int reason, const mosquitto_property*) {
  auto* c = static_cast<Connection*>(self);
  if (c->on_publish_) return c->on_publish_(mid, reason);
  std::lock_guard lock(c->mu_);
  c->pubacks_.insert(mid);
  c->cv_.notify_all();
}

void Connection::handle_subscribe(mosquitto*, void* self, int mid, int count, const int* granted,
                                  const mosquitto_property*) {
  auto* c = static_cast<Connection*>(self);
  {
    std::lock_guard lock(c->mu_);
    for (int i = 0; i < count; ++i)
      if (granted[i] >= 0x80) c->subacks_.insert(-mid);
    if (c->resubscribing_.erase(mid) == 0) c->subacks_.insert(mid);
    c->cv_.notify_all();
    // Also the SUBACK of the same subscription made again after a reconnect
    // (another process took the session over meanwhile): it leaves too.
    if (!c->leave_at_suback_ || c->left_) return;
    c->left_ = true;
  }
  // Here, on the network thread (subscribe(), leave_at_suback); the session is kept.
  mosquitto_disconnect_v5(c->mosq_, MQTT_RC_NORMAL_DISCONNECTION, nullptr);
}

void Connection::handle_unsubscribe(mosquitto*, void* self, int mid, const mosquitto_property*) {
  auto* c = static_cast<Connection*>(self);
  std::lock_guard lock(c->mu_);
  c->unsubacks_.insert(mid);
  c->cv_.notify_all();
}

void Connection::handle_message(mosquitto*, void* self, const mosquitto_message* msg, const mosquitto_property* props) {
  auto* c = static_cast<Connection*>(self);
  if (c->left_) return;  // its PUBACK follows the DISCONNECT: the broker keeps it (subscribe, leave_at_suback)
  if (c->on_message_ && msg != nullptr) c->on_message_(*msg, props);
}

}  // namespace qplug::mqtt
