// tests/support/broker_env.hpp -- what the broker-backed tests (conformance
// targets, integration tests) need to know about the brokers that
// tools/scripts/brokers.sh runs on loopback: where they are, whether they are
// up (with a message that says how to start them), how to restart them.
#pragma once

#include <string>
#include <string_view>

namespace qplug::testing {

// One broker as the tests see it.
struct Broker {
  std::string_view name;         // brokers.sh's name for it: "redis", "rabbitmq"
  std::string_view server;       // what messages call it: "redis-server"
  std::string_view url_env;      // the variable `brokers.sh env` prints
  std::string_view default_url;  // where brokers.sh starts it
  int default_port;              // the protocol's port, for a URL that names none
};

inline constexpr Broker kRedis{"redis", "redis-server", "QPLUG_TEST_REDIS_URL", "redis://127.0.0.1:6390/0", 6379};
inline constexpr Broker kRabbitmq{"rabbitmq", "rabbitmq-server", "QPLUG_TEST_AMQP_URL",
                                  "amqp://guest:guest@127.0.0.1:5690/", 5672};
inline constexpr Broker kMosquitto{"mosquitto", "mosquitto", "QPLUG_TEST_MQTT_URL", "mqtt://127.0.0.1:1890", 1883};

// The environment variable `name`, or `fallback` when it is unset or empty.
std::string env_or(const char* name, std::string_view fallback);

// The broker's URL: its url_env variable, else its default_url.
std::string broker_url(const Broker& b);

// "" when a TCP connection to `url`'s host:port succeeds; otherwise why not,
// naming broker, address and how to start it, e.g. "redis-server at
// 127.0.0.1:6390 is not reachable (start it with tools/scripts/brokers.sh
// start redis)".
std::string broker_unreachable(const Broker& b, const std::string& url);

// Whether a missing broker must fail the test rather than skip it (env CI=true).
bool brokers_required();

// The check a broker-backed GoogleTest test starts with: skips it when broker
// `b` is not reachable at `url`, fails it instead when brokers_required().
#define QPLUG_REQUIRE_BROKER(b, url)                                                                \
  if (std::string qplug_why_ = ::qplug::testing::broker_unreachable(b, url); !qplug_why_.empty()) { \
    if (::qplug::testing::brokers_required()) FAIL() << qplug_why_;                                 \
    GTEST_SKIP() << qplug_why_;                                                                     \
  }

// tools/scripts/brokers.sh of this source tree, or $QPLUG_BROKERS_SCRIPT.
std::string brokers_script();

// `brokers.sh restart <name>`, output discarded; true when it exited 0.
bool restart_broker(const Broker& b);

// Runs `cmd` with /bin/sh and returns what it wrote to stdout.
std::string run_command(const std::string& cmd);

// "qplug-it-<what>-<pid>-<clock ticks>": a queue name no other run uses.
std::string unique_name(std::string_view what);

}  // namespace qplug::testing
