// tests/integration/vocab/vocab_test.cpp -- one vocabulary for driver
// settings (issue 9, finding 2): ONE driver block with the common keys is
// accepted by redis, amqp and mqtt with only `kind:` and the URL's scheme
// changed (mqtt consumers also need their own `client_id`),
// and a message really goes through each; aliases keep working; what a driver
// cannot honour (TLS on redis, queue options of another broker) is INVALID
// naming the key and the driver.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <qplug/config.hpp>
#include <qplug/runtime.hpp>
#include <string>
#include <thread>

#include "broker_env.hpp"

namespace qplug {
namespace {

using namespace std::chrono_literals;
using qplug::testing::Broker;
using qplug::testing::kMosquitto;
using qplug::testing::kRabbitmq;
using qplug::testing::kRedis;

// The common keys, once. Only the entry's kind and the URL differ per broker.
std::string common_block(const std::string& kind, const std::string& url) {
  return "  - kind: queue.driver." + kind +
         "\n"
         "    name: broker\n"
         "    url: '" +
         url +
         "'\n"
         "    connect_timeout: 2s\n"
         "    publish_timeout: 5s\n"
         "    reconnect:\n"
         "      initial_delay: 100ms\n"
         "      max_delay: 2s\n"
         "    heartbeat: 10s\n"
         "    client_name: qplug-vocab-test\n";
}

std::string config_text(const std::string& driver_block, const std::string& queue_name,
                        const std::string& queue_extra = "") {
  return "version: 1\nnamespace: vocab\nentries:\n" + driver_block +
         "  - {kind: queue.queue, name: q, driver: broker, queue_name: '" + queue_name + "'" + queue_extra + "}\n";
}

bool reachable(const Broker& b, std::string* url, std::string* why) {
  *url = qplug::testing::broker_url(b);
  *why = qplug::testing::broker_unreachable(b, *url);
  return why->empty();
}

#define REQUIRE_BROKER(b, url)                             \
  std::string url;                                         \
  if (std::string why; !reachable(b, &url, &why)) {        \
    if (qplug::testing::brokers_required()) FAIL() << why; \
    GTEST_SKIP() << why;                                   \
  }

// Opens the config, publishes one message and waits for it to come back.
void round_trip(const std::string& yaml) {
  auto cfg = parse_config(yaml, "vocab_test.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status().to_string();
  auto rt = Runtime::create(std::move(*cfg));
  ASSERT_TRUE(rt.ok()) << rt.status().to_string();
  std::mutex mu;
  std::condition_variable cv;
  std::string got;
  auto sub = (*rt)->subscribe("vocab:q", {}, [&](Delivery& d) {
    std::lock_guard lock(mu);
    got = d.message().body;
    cv.notify_all();
    return ok_status();
  });
  ASSERT_TRUE(sub.ok()) << sub.status().to_string();
  ASSERT_TRUE((*rt)->publish("vocab:q", Value(std::string("hello"))).ok());
  {
    std::unique_lock lock(mu);
    EXPECT_TRUE(cv.wait_for(lock, 60s, [&] { return !got.empty(); })) << "message did not come back";
  }
  EXPECT_EQ(got, "\"hello\"");
  EXPECT_TRUE((*sub)->stop().ok());
  (*rt)->stop();
}

// The error Runtime::create gives for `yaml` ("" when it opened).
std::string open_error(const std::string& yaml) {
  auto cfg = parse_config(yaml, "vocab_test.yaml");
  if (!cfg.ok()) return cfg.status().to_string();
  auto rt = Runtime::create(std::move(*cfg));
  if (rt.ok()) {
    (*rt)->stop();
    return "";
  }
  return rt.status().to_string();
}

TEST(OneVocabulary, CommonBlockWorksOnRedis) {
  REQUIRE_BROKER(kRedis, url);
  const std::string queue = qplug::testing::unique_name("vocab");
  round_trip(config_text(common_block("redis", url), queue));
  qplug::testing::run_command("redis-cli -u " + url + " DEL " + queue + " >/dev/null");
}

TEST(OneVocabulary, CommonBlockWorksOnAmqp) {
  REQUIRE_BROKER(kRabbitmq, url);
  round_trip(config_text(common_block("amqp", url), qplug::testing::unique_name("vocab"),
                         ", driver_options: {amqp: {durable: False, auto_delete: True}}"));
}

// MQTT's one key of its own a consumer needs: a stable client ID.
TEST(OneVocabulary, CommonBlockWorksOnMqtt) {
  REQUIRE_BROKER(kMosquitto, url);
  round_trip(config_text(common_block("mqtt", url) + "    client_id: vocab-" + std::to_string(::getpid()) + "\n",
                         qplug::testing::unique_name("vocab")));
}

// MQTT's rules for the common keys: refused before any connection.
TEST(OneVocabulary, MqttRefusesWhatItWouldOtherwiseChangeOrIgnore) {
  const auto mqtt = [](const std::string& extra) {
    return open_error(
        config_text("  - {kind: queue.driver.mqtt, name: broker, url: 'mqtt://127.0.0.1:1'" + extra + "}\n", "unused"));
  };
  EXPECT_NE(mqtt(", heartbeat: 1500ms").find("mqtt driver: 'heartbeat' is 1500ms"), std::string::npos)
      << mqtt(", heartbeat: 1500ms");
  EXPECT_NE(mqtt(", heartbeat: 2s").find("'heartbeat' is 2000ms"), std::string::npos) << mqtt(", heartbeat: 2s");
  EXPECT_NE(mqtt(", tls: {ca_file: /ca.pem}").find("mqtt driver: 'tls.ca_file' is given but TLS is off"),
            std::string::npos)
      << mqtt(", tls: {ca_file: /ca.pem}");
  EXPECT_NE(mqtt(", reconnect: {initial_delay: 2s, max_delay: 1s}").find("'reconnect.max_delay' (1000ms) is below"),
            std::string::npos)
      << mqtt(", reconnect: {initial_delay: 2s, max_delay: 1s}");
}

TEST(OneVocabulary, RedisSetsItsClientName) {
  REQUIRE_BROKER(kRedis, url);
  auto cfg =
      parse_config(config_text(common_block("redis", url), qplug::testing::unique_name("vocab")), "vocab_test.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status().to_string();
  auto rt = Runtime::create(std::move(*cfg));
  ASSERT_TRUE(rt.ok()) << rt.status().to_string();
  // The publishing connection opens with the first publish and stays open;
  // admin commands (declare) use a connection each that closes at once.
  ASSERT_TRUE((*rt)->publish("vocab:q", Value(std::string("x"))).ok());
  const std::string clients = qplug::testing::run_command("redis-cli -u " + url + " CLIENT LIST");
  EXPECT_NE(clients.find("name=qplug-vocab-test"), std::string::npos) << clients;
  (*rt)->stop();
}

// heartbeat on redis: the idle publishing connection is PINGed (CLIENT LIST
// shows its last command), found with a deadline loop, not a sleep.
TEST(OneVocabulary, RedisHeartbeatPingsTheIdleConnection) {
  REQUIRE_BROKER(kRedis, url);
  const std::string name = "qplug-hb-" + std::to_string(::getpid());
  const std::string block =
      "  - {kind: queue.driver.redis, name: broker, url: '" + url + "', heartbeat: 100ms, client_name: " + name + "}\n";
  auto cfg = parse_config(config_text(block, qplug::testing::unique_name("vocab")), "vocab_test.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status().to_string();
  auto rt = Runtime::create(std::move(*cfg));
  ASSERT_TRUE(rt.ok()) << rt.status().to_string();
  // The publishing connection opens with the first publish, then idles.
  ASSERT_TRUE((*rt)->publish("vocab:q", Value(std::string("x"))).ok());
  bool pinged = false;
  std::string clients;
  for (auto deadline = std::chrono::steady_clock::now() + 30s;
       !pinged && std::chrono::steady_clock::now() < deadline;) {
    clients = qplug::testing::run_command("redis-cli -u " + url + " CLIENT LIST");
    size_t at = 0;
    while ((at = clients.find("name=" + name + " ", at)) != std::string::npos) {
      const size_t eol = clients.find('\n', at);
      if (clients.substr(at, eol - at).find("cmd=ping") != std::string::npos) pinged = true;
      at = eol;
    }
    if (!pinged) std::this_thread::sleep_for(20ms);  // poll interval of the deadline loop
  }
  EXPECT_TRUE(pinged) << clients;
  (*rt)->stop();
}

TEST(OneVocabulary, AmqpQueueBooleansAcceptAnyCase) {
  REQUIRE_BROKER(kRabbitmq, url);
  EXPECT_EQ(open_error(config_text(common_block("amqp", url), qplug::testing::unique_name("vocab"),
                                   ", driver_options: {amqp: {durable: True, auto_delete: YES}}")),
            "");
}

TEST(OneVocabulary, TlsOnRedisIsInvalidNamingKeyAndDriver) {
  const std::string block = common_block("redis", "redis://127.0.0.1:1/0") + "    tls: {enabled: true}\n";
  const std::string err = open_error(config_text(block, "unused"));
  EXPECT_NE(err.find("redis driver: 'tls.enabled' is not supported"), std::string::npos) << err;
}

TEST(OneVocabulary, OldNamesStayAcceptedAsAliases) {
  REQUIRE_BROKER(kRedis, url);
  const std::string redis =
      "  - {kind: queue.driver.redis, name: broker, url: '" + url + "', reconnect: {initial: 50ms, max: 1s}}\n";
  EXPECT_EQ(open_error(config_text(redis, "unused")), "");
}

TEST(OneVocabulary, AmqpOldNamesStayAcceptedAsAliases) {
  REQUIRE_BROKER(kRabbitmq, url);
  const std::string amqp = "  - {kind: queue.driver.amqp, name: broker, url: '" + url +
                           "', reconnect_delay: 50ms, reconnect_max_delay: 1s, connection_timeout: 3s,"
                           " connection_name: old-name}\n";
  EXPECT_EQ(open_error(config_text(amqp, qplug::testing::unique_name("vocab"),
                                   ", driver_options: {amqp: {auto_delete: true}}")),
            "");
}

TEST(OneVocabulary, AliasAndNewNameWithDifferentValuesIsInvalid) {
  const std::string redis =
      "  - {kind: queue.driver.redis, name: broker, url: 'redis://127.0.0.1:1/0', reconnect: {initial: 50ms, "
      "initial_delay: 70ms}}\n";
  const std::string err = open_error(config_text(redis, "unused"));
  EXPECT_NE(err.find("'reconnect.initial'"), std::string::npos) << err;
  EXPECT_NE(err.find("'reconnect.initial_delay'"), std::string::npos) << err;
}

TEST(OneVocabulary, MemoryTakesPublishTimeoutAndRefusesNetworkKeys) {
  const std::string ok = "  - {kind: queue.driver.memory, name: broker, publish_timeout: 2s}\n";
  EXPECT_EQ(open_error(config_text(ok, "m")), "");
  const std::string old = "  - {kind: queue.driver.memory, name: broker, publish_timeout_ms: 2000}\n";
  EXPECT_EQ(open_error(config_text(old, "m")), "");
  const std::string bad = "  - {kind: queue.driver.memory, name: broker, url: 'memory://x'}\n";
  const std::string err = open_error(config_text(bad, "m"));
  EXPECT_NE(err.find("memory driver: 'url' is not supported"), std::string::npos) << err;
}

// amqp's own rules for the common keys: refused before any connection.
TEST(OneVocabulary, AmqpRefusesWhatItWouldOtherwiseChangeOrIgnore) {
  const auto amqp = [](const std::string& extra) {
    return open_error(config_text(
        "  - {kind: queue.driver.amqp, name: broker, url: 'amqp://127.0.0.1:1/'" + extra + "}\n", "unused"));
  };
  EXPECT_NE(amqp(", heartbeat: 1500ms").find("amqp driver: 'heartbeat' is 1500ms; AMQP heartbeats are whole seconds"),
            std::string::npos)
      << amqp(", heartbeat: 1500ms");
  // A bare 30 is 30 ms: refused, not silently turned into "off".
  EXPECT_NE(amqp(", heartbeat: 30").find("'heartbeat' is 30ms"), std::string::npos) << amqp(", heartbeat: 30");
  EXPECT_NE(amqp(", tls: {enabled: true, server_name: x}").find("amqp driver: 'tls.server_name' is not supported"),
            std::string::npos);
  EXPECT_NE(amqp(", tls: {ca_file: /ca.pem}").find("'tls.ca_file' is given but TLS is off"), std::string::npos)
      << amqp(", tls: {ca_file: /ca.pem}");
  // Every tls.* key, not only the files: with TLS off each would be ignored.
  EXPECT_NE(amqp(", tls: {cert_file: /c.pem, key_file: /k.pem}").find("' is given but TLS is off"), std::string::npos);
  for (const char* key : {"verify_peer: false", "verify_hostname: false"}) {
    const std::string extra = std::string(", tls: {") + key + "}";
    const std::string name = std::string(key).substr(0, std::string(key).find(':'));
    EXPECT_NE(amqp(extra).find("amqp driver: 'tls." + name + "' is given but TLS is off"), std::string::npos)
        << amqp(extra);
  }
  const std::string amqps = open_error(config_text(
      "  - {kind: queue.driver.amqp, name: broker, url: 'amqps://127.0.0.1:1/', tls: {enabled: false}}\n", "unused"));
  EXPECT_NE(amqps.find("'tls.enabled' is false but the url is amqps://"), std::string::npos) << amqps;
}

// Queue-level options a driver cannot honour: INVALID naming key and driver.
TEST(QueueOptions, RedisRefusesOptionsItCannotHonour) {
  REQUIRE_BROKER(kRedis, url);
  const std::string err = open_error(config_text("  - {kind: queue.driver.redis, name: broker, url: '" + url + "'}\n",
                                                 "unused", ", driver_options: {redis: {max_priority: 5}}"));
  EXPECT_NE(err.find("redis queue options"), std::string::npos) << err;
  EXPECT_NE(err.find("'max_priority'"), std::string::npos) << err;
}

TEST(QueueOptions, AmqpRefusesOptionsItCannotHonour) {
  REQUIRE_BROKER(kRabbitmq, url);
  const std::string err = open_error(config_text("  - {kind: queue.driver.amqp, name: broker, url: '" + url + "'}\n",
                                                 "unused", ", driver_options: {amqp: {maxlen: 5}}"));
  EXPECT_NE(err.find("amqp queue options"), std::string::npos) << err;
  EXPECT_NE(err.find("'maxlen'"), std::string::npos) << err;
}

TEST(QueueOptions, MemoryRefusesOptionsItCannotHonour) {
  const std::string err = open_error(config_text("  - {kind: queue.driver.memory, name: broker}\n", "m",
                                                 ", driver_options: {memory: {durable: true}}"));
  EXPECT_NE(err.find("memory queue"), std::string::npos) << err;
  EXPECT_NE(err.find("'durable'"), std::string::npos) << err;
}

}  // namespace
}  // namespace qplug
