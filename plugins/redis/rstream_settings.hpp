// rstream_settings.hpp -- the Redis driver's configuration: driver block
// (open), queue options (declare) and consumer options (subscribe). Every
// key is documented in docs/drivers/redis.md; unknown keys are INVALID.
#pragma once

#include <qplug/driver.h>

#include <cstdint>
#include <string>
#include <vector>

namespace qplug::rstream {

struct Endpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string user;
  std::string password;
  int db = 0;
  int64_t connect_timeout_ms = 2000;
  int64_t command_timeout_ms = 5000;
  std::string client_name;  // CLIENT SETNAME after connecting ("" = none)
  std::string address() const { return host + ":" + std::to_string(port); }
};

struct DriverSettings {
  Endpoint endpoint;
  int64_t reconnect_initial_ms = 100;
  int64_t reconnect_max_ms = 5000;
  int64_t publish_timeout_ms = 5000;  // how long a publish waits through an outage
  int64_t heartbeat_ms = 0;           // idle writer connection PINGed this often (0 = off)
  int64_t claim_idle_ms = 30000;      // pending this long -> reclaimed by a live consumer
  int64_t block_ms = 1000;            // XREADGROUP BLOCK per poll
  int64_t maxlen = 0;                 // 0: never trim (default, nothing unacked is lost)
  int64_t max_pending = 65536;        // queued, unwritten publishes before FULL
  std::string key_prefix;             // stream key = key_prefix + queue name
  std::string consumer_prefix;        // default consumer name prefix (hostname)
  std::vector<std::string> warnings;  // deprecated spellings used, logged by open()
};

struct QueueSettings {
  std::string group;   // default group (empty: the queue name)
  int64_t maxlen = 0;  // per-queue trimming, overrides the driver's
};

struct ConsumerSettings {
  int64_t claim_idle_ms = 0;
  int64_t block_ms = 0;
};

// Each returns false and fills `status` (INVALID naming the key) on bad input.
bool parse_driver_settings(const qplug_kv* items, size_t count, DriverSettings* out, qplug_status* status);
bool parse_queue_settings(const qplug_kv* items, size_t count, const DriverSettings& drv, QueueSettings* out,
                          qplug_status* status);
bool parse_consumer_settings(const qplug_kv* items, size_t count, const DriverSettings& drv, ConsumerSettings* out,
                             qplug_status* status);

}  // namespace qplug::rstream
