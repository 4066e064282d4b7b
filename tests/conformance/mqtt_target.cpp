// tests/conformance/mqtt_target.cpp -- runs the conformance suite against the
// MQTT v5 driver and a real mosquitto with the shipped zero-loss config
// (tools/scripts/brokers.sh start mosquitto; QPLUG_TEST_MQTT_URL, default
// mqtt://127.0.0.1:1890).
#include <unistd.h>

#include <string>

#include "broker_env.hpp"
#include "conformance.hpp"

namespace qplug::conformance {

Target make_target() {
  using qplug::testing::kMosquitto;
  Target t;
  t.driver = "mqtt";
  std::string url = qplug::testing::broker_url(kMosquitto);
  // A client ID per test process: queues are unique per run anyway. Short
  // session expiry so the anchors and sessions of finished tests leave the
  // broker by themselves.
  t.config = {{"url", url},
              {"client_id", "conformance-" + std::to_string(::getpid())},
              {"session_expiry", "10m"},
              // Generous: on a loaded box (and under TSan) mosquitto's
              // once-a-second persistence snapshot of a big session stalled
              // PUBACKs past 10 s (a false TIMEOUT in the 50k test); and
              // after a broker restart the publisher waits up to
              // connect_timeout for this process's consumers to subscribe
              // again (docs/drivers/mqtt.md), 5 s lost a message under TSan.
              {"publish_timeout", "60s"},
              {"connect_timeout", "30s"},
              {"reconnect.initial_delay", "100ms"},
              {"reconnect.max_delay", "1s"}};
  t.broker_check = [url] { return qplug::testing::broker_unreachable(kMosquitto, url); };
  t.restart_broker = [] { return qplug::testing::restart_broker(kMosquitto); };
  t.quiet_ms = 300;
  return t;
}

}  // namespace qplug::conformance
