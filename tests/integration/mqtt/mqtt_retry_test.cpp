// tests/integration/mqtt/mqtt_retry_test.cpp -- the core's retry scenarios
// (tests/unit/retry_scenarios.hpp, run on memory, redis and amqp elsewhere)
// on the mqtt driver against the real mosquitto: with native delay (the
// consumers' spool, docs/drivers/mqtt.md "Delay") a backoff of minutes is a
// delayed republish, so it holds no prefetch slot.
#include <gtest/gtest.h>

#include <filesystem>
#include <qplug/config.hpp>
#include <qplug/runtime.hpp>
#include <string>

#include "broker_env.hpp"
#include "driver_yaml.hpp"
#include "retry_scenarios.hpp"

namespace qplug {
namespace {

using qplug::testing::kMosquitto;

TEST(MqttRetry, LongBackoffDoesNotStallTheNextMessages) {
  const std::string url = qplug::testing::broker_url(kMosquitto);
  QPLUG_REQUIRE_BROKER(kMosquitto, url);
  const std::string unique = qplug::testing::unique_name("mqttbackoff");
  const std::string spool = ::testing::TempDir() + unique + "-spool";
  const std::string settings = "client_id: '" + unique + "', session_expiry: 10m, spool.dir: '" + spool + "'";
  auto cfg = parse_config("version: 1\nnamespace: it\nentries:\n" +
                              qplug::testing::driver_yaml(kMosquitto, url, unique, settings) +
                              qplug::test_util::long_backoff_queue_yaml(unique),
                          "backoff.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status().to_string();
  auto rt = Runtime::create(std::move(*cfg));
  ASSERT_TRUE(rt.ok()) << rt.status().to_string();
  ASSERT_TRUE(qplug::test_util::driver_delays(**rt, "it:tasks")) << "mqtt with the spool claims QPLUG_CAP_DELAY";
  qplug::test_util::expect_long_backoff_does_not_stall(**rt, "it:tasks");
  (*rt)->stop();
  std::error_code ec;
  std::filesystem::remove_all(spool, ec);
}

}  // namespace
}  // namespace qplug
