// tests/conformance/mqtt_target.cpp -- runs the conformance suite against the
// MQTT v5 driver and a real mosquitto with the shipped zero-loss config
// (tools/scripts/brokers.sh start mosquitto; QPLUG_TEST_MQTT_URL, default
// mqtt://127.0.0.1:1890).
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "broker_env.hpp"
#include "conformance.hpp"

namespace qplug::conformance {

// The consumers' spool directory of this test run: one per run, shared with
// the consumer processes a test starts (they inherit the variable), removed
// when the run ends. A developer may point QPLUG_TEST_MQTT_SPOOL_DIR elsewhere.
std::string spool_dir() {
  if (const char* d = std::getenv("QPLUG_TEST_MQTT_SPOOL_DIR"); d != nullptr && *d != '\0') return d;
  static const std::string dir = [] {
    std::string made = "/tmp/qplug-test-spool-" + std::to_string(::getpid());
    ::setenv("QPLUG_TEST_MQTT_SPOOL_DIR", made.c_str(), 1);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(std::getenv("QPLUG_TEST_MQTT_SPOOL_DIR"), ec);
    });
    return made;
  }();
  return dir;
}

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
              {"reconnect.max_delay", "1s"},
              {"spool.dir", spool_dir()},
              // The default (interval), stated so the 50k/10k message tests
              // never depend on it: `always` syncs once per message and caps
              // a consumer on this shared test disk near 170 msg/s.
              // tests/drivers/mqtt_spool_test.cpp covers every fsync mode.
              {"spool.fsync", "interval"}};
  t.broker_check = [url] { return qplug::testing::broker_unreachable(kMosquitto, url); };
  t.restart_broker = [] { return qplug::testing::restart_broker(kMosquitto); };
  t.quiet_ms = 300;
  return t;
}

}  // namespace qplug::conformance
