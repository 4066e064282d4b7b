// mqtt_connection.hpp -- one libmosquitto v5 client run by its own network
// thread (mosquitto_loop_start), with blocking, deadline-bounded helpers for
// connect, subscribe, unsubscribe and publish.
//
// The network thread is what makes a delivery's PUBACK leave only after the
// message callback returned (docs/drivers/mqtt.md, "libmosquitto facts"); every
// connection of the driver runs one. libmosquitto reconnects by itself with
// the reconnect.* delays; after a reconnect that found no session the
// subscriptions made through subscribe() are made again.
#pragma once

#include <mosquitto.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <qplug/sdk/host_log.hpp>
#include <set>
#include <string>
#include <vector>

#include "mqtt_settings.hpp"

namespace qplug::mqtt {

struct SessionOptions {
  std::string client_id;
  bool durable = false;     // clean start off + Session Expiry Interval
  int receive_maximum = 0;  // 0: libmosquitto's default
  int send_maximum = 0;
  bool reconnect = true;  // false: a lost connection stays lost (a short-lived one)
};

class Connection {
 public:
  // Runs on the network thread; the PUBACK of `msg` leaves after it returns.
  using MessageFn = std::function<void(const mosquitto_message& msg, const mosquitto_property* props)>;
  // Runs on the network thread for every PUBACK/PUBCOMP (reason < 0x80: accepted).
  using PublishFn = std::function<void(int mid, int reason)>;
  using Clock = std::chrono::steady_clock;

  Connection(const Settings& settings, SessionOptions options, const sdk::HostLog& log);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Set before connect().
  void on_message(MessageFn fn) { on_message_ = std::move(fn); }
  void on_publish(PublishFn fn) { on_publish_ = std::move(fn); }
  // Runs on the network thread after every accepted CONNACK, before
  // libmosquitto sends anything queued: `first` is false for reconnects.
  void on_connected(std::function<void(bool first)> fn) { on_connected_ = std::move(fn); }

  // Connects and waits for the CONNACK (connect_timeout). UNAVAILABLE
  // (retryable) when the broker cannot be reached, PERMISSION_DENIED when it
  // refuses the credentials.
  int32_t connect(qplug_status* st);
  bool session_present() const;
  bool connected() const;
  // Waits until connected or the deadline; true when connected.
  bool wait_connected(Clock::time_point deadline);

  // Waits until connected and every subscription made again after the last
  // reconnect was acknowledged (or the deadline); true when so.
  bool wait_resubscribed(Clock::time_point deadline);

  // Subscribes (QoS `qos`) and waits for the SUBACK; remembered for reconnects.
  // leave_at_suback: for a session that must be in a group while offline (an
  // anchor, mqtt_anchor.cpp): the SUBACK's callback queues the DISCONNECT
  // (session kept) on the network thread, behind the PUBACK of every delivery
  // the hook was handed; a later delivery is not handed to the hook (its
  // PUBACK would follow the DISCONNECT): the broker keeps it. Use it with
  // Receive Maximum 1, so the close loses no PUBACK the broker has not read.
  int32_t subscribe(const std::string& topic, int qos, qplug_status* st, bool leave_at_suback = false);
  int32_t unsubscribe(const std::string& topic, qplug_status* st);
  // Queues a publish (the library sends it when it can); *mid receives its ID.
  int32_t publish(const std::string& topic, const void* payload, size_t len, int qos, bool retain,
                  const mosquitto_property* props, int* mid, qplug_status* st);
  // Publishes QoS 1 and waits for the PUBACK (only without an on_publish hook).
  int32_t publish_and_wait(const std::string& topic, const std::string& payload, bool retain, qplug_status* st);

  // Sends DISCONNECT (with Session Expiry 0 when end_session: the broker
  // forgets the session) and joins the network thread. Idempotent.
  void disconnect(bool end_session);

  const std::string& client_id() const { return options_.client_id; }

 private:
  static void handle_connect(mosquitto*, void* self, int rc, int flags, const mosquitto_property*);
  static void handle_disconnect(mosquitto*, void* self, int rc, const mosquitto_property*);
  static void handle_publish(mosquitto*, void* self, int mid, int reason, const mosquitto_property*);
  static void handle_subscribe(mosquitto*, void* self, int mid, int count, const int* granted,
                               const mosquitto_property*);
  static void handle_unsubscribe(mosquitto*, void* self, int mid, const mosquitto_property*);
  static void handle_message(mosquitto*, void* self, const mosquitto_message* msg, const mosquitto_property* props);
  static void handle_log(mosquitto*, void* self, int level, const char* line);
  // Why the connection failed before its CONNACK (TLS handshake, reset).
  int32_t fail_before_connack(int rc, qplug_status* st);
  std::string last_error() const;
  int32_t wait_for_ack(int mid, std::set<int>& acks, const char* what, const std::string& topic, qplug_status* st);
  Clock::time_point deadline() const;

  const Settings& settings_;
  SessionOptions options_;
  sdk::HostLog log_;
  mosquitto* mosq_ = nullptr;
  MessageFn on_message_;
  PublishFn on_publish_;
  std::function<void(bool first)> on_connected_;
  int connects_ = 0;              // accepted CONNACKs so far
  bool leave_at_suback_ = false;  // subscribe(..., leave_at_suback): its SUBACK disconnects
  bool left_ = false;             // that SUBACK came: nothing more goes to the hook (network thread)

  mutable std::mutex mu_;
  std::condition_variable cv_;
  int connack_rc_ = -1;  // -1: no CONNACK yet
  int lost_rc_ = 0;      // a TLS connection dropped before any CONNACK (a failed handshake)
  bool connected_ = false;
  bool session_present_ = false;
  bool loop_running_ = false;
  bool disconnected_ = false;
  std::set<int> subacks_, unsubacks_, pubacks_;
  std::set<int> resubscribing_;  // SUBACKs still due for the subscriptions made again on reconnect
  std::vector<std::pair<std::string, int>> subscriptions_;  // made again after a session-less reconnect

  // Not mu_: libmosquitto logs from calls made while mu_ is held.
  mutable std::mutex log_mu_;
  std::string last_error_;  // the latest MOSQ_LOG_ERR line (OpenSSL's reason for a failed handshake)
  std::string refusal_;     // why the server certificate was refused, read when OpenSSL's error was logged
};

}  // namespace qplug::mqtt
