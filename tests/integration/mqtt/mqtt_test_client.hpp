// tests/integration/mqtt/mqtt_test_client.hpp -- a minimal raw libmosquitto
// v5 client for tests that check the broker or the library itself (no qplug
// code): connect (optionally as a durable session), subscribe, publish QoS 1
// and wait for the PUBACK, record received bodies. Every wait has a deadline.
#pragma once

#include <mosquitto.h>
#include <mqtt_protocol.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <qplug/sdk/url.hpp>
#include <string>
#include <vector>

#include "broker_env.hpp"

namespace qplug::testing::mqtt {

inline constexpr int kSessionExpirySeconds = 300;
inline constexpr auto kDeadline = std::chrono::seconds(30);

struct Endpoint {
  std::string host;
  int port;
};

inline Endpoint endpoint() {
  std::string why;
  auto u = qplug::sdk::parse_url(qplug::testing::broker_url(kMosquitto), &why);
  if (!u) return {"127.0.0.1", 1890};
  return {u->host, u->port == 0 ? kMosquitto.default_port : u->port};
}

// A v5 client that records what it receives; loop_start'ed unless told otherwise.
class Client {
 public:
  // durable: clean_start off and a Session Expiry Interval, so the broker
  // keeps the session (and queues for it) while it is offline.
  Client(const std::string& id, bool durable) {
    m_ = mosquitto_new(id.c_str(), !durable, this);
    mosquitto_int_option(m_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_connect_v5_callback_set(m_, [](mosquitto*, void* self, int rc, int, const mosquitto_property*) {
      static_cast<Client*>(self)->signal([&](Client& c) { c.connect_rc_ = rc; });
    });
    mosquitto_subscribe_v5_callback_set(m_,
                                        [](mosquitto*, void* self, int, int, const int*, const mosquitto_property*) {
                                          static_cast<Client*>(self)->signal([](Client& c) { ++c.subacks_; });
                                        });
    mosquitto_publish_v5_callback_set(m_, [](mosquitto*, void* self, int, int, const mosquitto_property*) {
      static_cast<Client*>(self)->signal([](Client& c) { ++c.pubacks_; });
    });
    mosquitto_message_v5_callback_set(
        m_, [](mosquitto*, void* self, const mosquitto_message* msg, const mosquitto_property*) {
          std::string body(static_cast<const char*>(msg->payload), static_cast<size_t>(msg->payloadlen));
          static_cast<Client*>(self)->signal([&](Client& c) { c.received_.push_back(body); });
        });
  }
  ~Client() {
    mosquitto_disconnect(m_);
    mosquitto_loop_stop(m_, false);
    mosquitto_destroy(m_);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connect(bool start_thread = true) {
    Endpoint ep = endpoint();
    mosquitto_property* props = nullptr;
    mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL, kSessionExpirySeconds);
    int rc = mosquitto_connect_bind_v5(m_, ep.host.c_str(), ep.port, 30, nullptr, props);
    mosquitto_property_free_all(&props);
    if (rc != MOSQ_ERR_SUCCESS) return false;
    if (start_thread && mosquitto_loop_start(m_) != MOSQ_ERR_SUCCESS) return false;
    return wait([](Client& c) { return c.connect_rc_ >= 0; }) && connect_rc_ == 0;
  }
  bool subscribe(const std::string& topic) {
    int before = subacks_;
    if (mosquitto_subscribe_v5(m_, nullptr, topic.c_str(), 1, 0, nullptr) != MOSQ_ERR_SUCCESS) return false;
    return wait([before](Client& c) { return c.subacks_ > before; });
  }
  bool publish(const std::string& topic, const std::string& body) {
    int before = pubacks_;
    if (mosquitto_publish_v5(m_, nullptr, topic.c_str(), static_cast<int>(body.size()), body.data(), 1, false,
                             nullptr) != MOSQ_ERR_SUCCESS) {
      return false;
    }
    return wait([before](Client& c) { return c.pubacks_ > before; });
  }
  // Waits until a message with body `last` arrived; returns everything received.
  std::vector<std::string> received_through(const std::string& last) {
    wait([&](Client& c) {
      for (const auto& b : c.received_)
        if (b == last) return true;
      return false;
    });
    std::lock_guard lock(mu_);
    return received_;
  }
  // Waits until `n` messages arrived (or the deadline); returns all received.
  std::vector<std::string> received_at_least(size_t n) {
    wait([n](Client& c) { return c.received_.size() >= n; });
    std::lock_guard lock(mu_);
    return received_;
  }
  // Disconnects and stops the network thread; a durable session stays on the broker.
  void go_offline() {
    mosquitto_disconnect(m_);
    mosquitto_loop_stop(m_, false);
  }
  mosquitto* handle() { return m_; }

 private:
  template <typename F>
  void signal(F&& f) {
    std::lock_guard lock(mu_);
    f(*this);
    cv_.notify_all();
  }
  template <typename P>
  bool wait(P pred) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kDeadline, [&] { return pred(*this); });
  }
  mosquitto* m_;
  std::mutex mu_;
  std::condition_variable cv_;
  int connect_rc_ = -1;
  int subacks_ = 0;
  int pubacks_ = 0;
  std::vector<std::string> received_;
};

}  // namespace qplug::testing::mqtt
