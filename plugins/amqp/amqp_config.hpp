// amqp_config.hpp -- the amqp driver's settings (open()), per-queue declare
// options and per-consumer subscribe options, parsed from flattened YAML.
#pragma once

#include <qplug/driver.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace qplug::amqp {

struct DriverConfig {
  std::string host = "127.0.0.1";
  int port = 5672;
  bool tls = false;
  std::string user = "guest";
  std::string password = "guest";
  std::string vhost = "/";
  std::string connection_name = "qplug";
  int heartbeat_s = 30;
  int64_t connection_timeout_ms = 5000;
  int64_t reconnect_delay_ms = 200;
  int64_t reconnect_max_delay_ms = 10000;
  uint16_t prefetch_count = 10;         // default per-subscription prefetch
  int64_t default_message_ttl_ms = -1;  // -1: none; applied to publishes without a ttl header
  int64_t publish_timeout_ms = 30000;   // how long a publish waits for a connection
  uint32_t confirm_window = 4096;       // max unconfirmed messages in flight
  // TLS (amqps://)
  std::string tls_ca_file, tls_cert_file, tls_key_file;
  bool tls_verify_peer = true;
  bool tls_verify_hostname = true;
  std::vector<std::string> warnings;  // deprecated spellings used, logged by open()
};

struct QueueOptions {
  bool durable = true;
  bool auto_delete = false;
  bool exclusive = false;
  bool persistent = true;  // delivery_mode 2
  int64_t max_length = -1;
  int64_t message_ttl_ms = -1;
  int64_t queue_expiry_ms = -1;
  int64_t max_priority = -1;
  std::string queue_type;  // "", classic, quorum
  std::string dead_letter_exchange;
  std::string dead_letter_routing_key;
  std::string dead_letter_queue;  // declared and bound for you (via the default exchange)
  // `arguments.<x-...>` passed through to queue.declare: key, raw text (typed
  // when declared: integer -> long, true/false -> bool, else string).
  std::vector<std::pair<std::string, std::string>> arguments;
};

struct ConsumerOptions {
  std::string consumer_tag;
  bool exclusive = false;
};

// Each returns nullopt and fills *st (INVALID naming the key) on bad input.
std::optional<DriverConfig> parse_driver_config(const qplug_kv* kv, size_t n, qplug_status* st);
std::optional<QueueOptions> parse_queue_options(const qplug_kv* kv, size_t n, qplug_status* st);
std::optional<ConsumerOptions> parse_consumer_options(const qplug_kv* kv, size_t n, qplug_status* st);

}  // namespace qplug::amqp
