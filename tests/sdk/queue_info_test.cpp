// queue_info.hpp: counts go into the caller's struct, never past its struct_size.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <qplug/sdk/queue_info.hpp>
#include <qplug/sdk/versioned.hpp>
#include <string>

using qplug::sdk::QueueCounts;
using qplug::sdk::write_queue_info;

namespace {

TEST(QueueInfo, WritesEveryCountAndMinusOneForTheUnknown) {
  auto info = qplug::sdk::versioned<qplug_queue_info>();
  QueueCounts c;
  c.messages = 7;
  c.consumers = 2;
  qplug_status st = qplug::sdk::make_status();
  ASSERT_EQ(write_queue_info(&info, c, "test", &st), QPLUG_OK);
  EXPECT_EQ(info.messages, 7);
  EXPECT_EQ(info.in_flight, -1) << "a count the driver does not know is -1, not 0";
  EXPECT_EQ(info.consumers, 2);
  EXPECT_EQ(info.struct_size, sizeof(qplug_queue_info)) << "the caller's header is left alone";
}

// An older caller whose struct ends after `messages`: the bytes behind it
// (here a canary in the same buffer) must stay untouched.
TEST(QueueInfo, AnOlderSmallerStructIsNotWrittenPast) {
  unsigned char buf[sizeof(qplug_queue_info)];
  std::memset(buf, 0xAB, sizeof buf);
  auto* info = reinterpret_cast<qplug_queue_info*>(buf);
  info->struct_size = static_cast<uint32_t>(offsetof(qplug_queue_info, in_flight));
  QueueCounts c;
  c.messages = 3;
  c.in_flight = 4;
  c.consumers = 5;
  qplug_status st = qplug::sdk::make_status();
  ASSERT_EQ(write_queue_info(info, c, "test", &st), QPLUG_OK);
  EXPECT_EQ(info->messages, 3);
  for (size_t i = offsetof(qplug_queue_info, in_flight); i < sizeof buf; ++i)
    ASSERT_EQ(buf[i], 0xAB) << "byte " << i << " past the caller's struct was written";
}

TEST(QueueInfo, NullInfoIsInvalidNamingTheDriver) {
  qplug_status st = qplug::sdk::make_status();
  EXPECT_EQ(write_queue_info(nullptr, {}, "redis", &st), QPLUG_INVALID);
  EXPECT_NE(std::string(st.message).find("redis"), std::string::npos) << st.message;
}

}  // namespace
