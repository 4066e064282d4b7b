// tests/integration/mqtt/mosquitto_config_test.cpp -- the shipped broker
// configuration (tools/scripts/mosquitto.conf.in) keeps what it accepted.
//
// With mosquitto's defaults (max_queued_messages 1000) an offline durable
// session silently loses everything beyond the first ~1000 queued messages
// while every publisher still gets its PUBACK; the drop counter
// $SYS/broker/publish/messages/dropped is the only trace. These tests fail
// against a default-configured mosquitto.
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>

#include "broker_env.hpp"
#include "mosquitto_drop_watch.hpp"
#include "mosquitto_sys.hpp"
#include "mqtt_test_client.hpp"

namespace {

using qplug::testing::kMosquitto;
using namespace qplug::testing::mqtt;

class MosquittoConfig : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = qplug::testing::broker_url(kMosquitto);
    std::string why = qplug::testing::broker_unreachable(kMosquitto, url_);
    if (!why.empty()) {
      if (qplug::testing::brokers_required()) FAIL() << why;
      GTEST_SKIP() << why;
    }
    mosquitto_lib_init();
  }
  void TearDown() override { mosquitto_lib_cleanup(); }

  std::string url_;
};

TEST_F(MosquittoConfig, SysTreeIsReadable) {
  auto uptime = qplug::testing::mosquitto_sys_counter(url_, "broker/uptime");
  ASSERT_TRUE(uptime.has_value()) << "cannot read $SYS/broker/uptime from " << url_;
  EXPECT_GE(*uptime, 0);
}

// 5000 messages for an offline durable session: five times mosquitto's
// default per-client queue limit.
TEST_F(MosquittoConfig, OfflineDurableSessionKeepsEveryQueuedMessage) {
  constexpr int kCount = 5000;
  const std::string id = qplug::testing::unique_name("queued");
  const std::string topic = "qplug-test/" + id;
  {
    Client sub(id, true);
    ASSERT_TRUE(sub.connect());
    ASSERT_TRUE(sub.subscribe(topic));
    sub.go_offline();
  }
  qplug::testing::MosquittoDropWatch drops(url_);
  ASSERT_TRUE(drops.ok()) << drops.error();

  Client pub(id + "-pub", false);
  ASSERT_TRUE(pub.connect());
  for (int i = 0; i < kCount; ++i) ASSERT_TRUE(pub.publish(topic, 'm' + std::to_string(i))) << "publish " << i;

  Client resumed(id, true);
  ASSERT_TRUE(resumed.connect());
  auto got = resumed.received_at_least(kCount);
  std::set<std::string> distinct(got.begin(), got.end());
  EXPECT_EQ(distinct.size(), static_cast<size_t>(kCount)) << "the broker dropped queued messages";
  mosquitto_property* props = nullptr;
  mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL, 0);
  mosquitto_disconnect_v5(resumed.handle(), 0, props);
  mosquitto_property_free_all(&props);

  EXPECT_FALSE(drops.any_after_refresh()) << "$SYS/broker/publish/messages/dropped grew: " << drops.describe();
}

}  // namespace
