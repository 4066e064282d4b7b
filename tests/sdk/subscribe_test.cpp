// read_subscribe_request(): the argument check at the top of every
// driver's subscribe().
#include <gtest/gtest.h>

#include <cstddef>
#include <qplug/sdk/status.hpp>
#include <qplug/sdk/subscribe.hpp>
#include <qplug/sdk/versioned.hpp>
#include <string>

using qplug::sdk::make_status;
using qplug::sdk::read_subscribe_request;
using qplug::sdk::SubscribeRequest;

namespace {

void deliver(void*, qplug_delivery*, const qplug_message*) {}

TEST(ReadSubscribeRequest, NullCallbackIsInvalidNamingDriverAndQueue) {
  SubscribeRequest r;
  qplug_status st = make_status();
  EXPECT_FALSE(read_subscribe_request("redis", "jobs", nullptr, nullptr, &r, &st));
  EXPECT_EQ(st.code, QPLUG_INVALID);
  EXPECT_STREQ(st.message, "redis: subscribe to 'jobs': the deliver callback is NULL");
}

TEST(ReadSubscribeRequest, NullOptionsMeanDefaults) {
  SubscribeRequest r;
  r.prefetch = 99;
  qplug_status st = make_status();
  ASSERT_TRUE(read_subscribe_request("memory", "q", nullptr, deliver, &r, &st));
  EXPECT_EQ(r.prefetch, 0u);
  EXPECT_TRUE(r.group.empty());
  EXPECT_TRUE(r.consumer_name.empty());
  EXPECT_EQ(r.options, nullptr);
  EXPECT_EQ(r.option_count, 0u);
}

TEST(ReadSubscribeRequest, ReadsEveryField) {
  const std::string key = "block", value = "2s";
  qplug_kv kv{{key.data(), key.size()}, {value.data(), value.size()}};
  auto o = qplug::sdk::versioned<qplug_subscribe_options>();
  o.prefetch = 7;
  o.group = {"billing", 7};
  o.consumer_name = {"w1", 2};
  o.options = &kv;
  o.option_count = 1;
  SubscribeRequest r;
  qplug_status st = make_status();
  ASSERT_TRUE(read_subscribe_request("redis", "jobs", &o, deliver, &r, &st));
  EXPECT_EQ(r.prefetch, 7u);
  EXPECT_EQ(r.group, "billing");
  EXPECT_EQ(r.consumer_name, "w1");
  EXPECT_EQ(r.options, &kv);
  EXPECT_EQ(r.option_count, 1u);
}

TEST(ReadSubscribeRequest, OptionsNullWithACountAreInvalid) {
  auto o = qplug::sdk::versioned<qplug_subscribe_options>();
  o.option_count = 2;
  SubscribeRequest r;
  qplug_status st = make_status();
  EXPECT_FALSE(read_subscribe_request("amqp", "q", &o, deliver, &r, &st));
  EXPECT_EQ(st.code, QPLUG_INVALID);
  EXPECT_STREQ(st.message, "amqp: subscribe to 'q': consumer options are NULL with 2 items");
}

// A host built against an older minor passes a shorter struct: the fields
// past its struct_size are not read (they read as defaults).
TEST(ReadSubscribeRequest, FieldsBeyondAnOlderStructSizeAreNotRead) {
  auto o = qplug::sdk::versioned<qplug_subscribe_options>();
  o.prefetch = 5;
  o.group = {"g", 1};
  o.option_count = 3;  // garbage past the old size: never looked at
  o.struct_size = static_cast<uint32_t>(offsetof(qplug_subscribe_options, group));
  SubscribeRequest r;
  qplug_status st = make_status();
  ASSERT_TRUE(read_subscribe_request("memory", "q", &o, deliver, &r, &st));
  EXPECT_EQ(r.prefetch, 5u);
  EXPECT_TRUE(r.group.empty());
  EXPECT_EQ(r.option_count, 0u);
}

}  // namespace
