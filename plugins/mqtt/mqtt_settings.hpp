// mqtt_settings.hpp -- the MQTT driver's configuration (open) and the names
// derived from it (topics, client IDs). Every key is documented in
// docs/drivers/mqtt.md; unknown keys are INVALID naming the key.
#pragma once

#include <qplug/driver.h>

#include <cstdint>
#include <qplug/sdk/network_settings.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "mqtt_spool_settings.hpp"

namespace qplug::mqtt {

struct Settings {
  // The common network keys (sdk::read_network_settings, mqtt_settings.cpp).
  std::string host = "127.0.0.1";
  int port = 1883;
  std::string user;
  std::string password;
  int64_t connect_timeout_ms = 10000;
  int64_t publish_timeout_ms = 30000;
  int64_t reconnect_initial_ms = 100;
  int64_t reconnect_max_ms = 10000;
  int keepalive_s = 60;               // `heartbeat` (0: off)
  std::string client_name = "qplug";  // prefix of the client IDs this driver makes up
  sdk::TlsSettings tls;               // tls.enabled: mqtts:// or tls.enabled: true
  // MQTT's own keys.
  int qos = 1;                          // 1 or 2; 0 only with at_most_once: true
  int64_t session_expiry_s = 604800;    // consumer and anchor sessions outlive a disconnect this long
  std::string topic_prefix = "qplug/";  // topic = topic_prefix + queue name
  std::string client_id;                // stable per process; consumers need it (durable sessions)
  int receive_maximum = 0;              // 0: the subscription's prefetch
  int send_maximum = 1000;              // QoS 1/2 publishes in flight on the publisher connection
  SpoolSettings spool;                  // spool.* (mqtt_spool_settings.hpp)

  std::vector<std::string> warnings;  // deprecated spellings used (logged at open)

  std::string address() const { return host + ":" + std::to_string(port); }
};

// Reads the driver block; false + INVALID status naming the key on bad input.
bool read_settings(const qplug_kv* items, size_t count, Settings* out, qplug_status* st);

// The group a subscription without one joins.
inline constexpr std::string_view kDefaultGroup = "default";

// Topics and IDs the driver uses besides the queue topic itself. Kept under
// one prefix so an ACL can grant them in one line.
std::string share_topic(std::string_view group, std::string_view topic);
std::string anchor_client_id(std::string_view group, std::string_view topic);
std::string queue_state_topic(std::string_view group, std::string_view topic);
std::string marker_topic(std::string_view client_id);

}  // namespace qplug::mqtt
