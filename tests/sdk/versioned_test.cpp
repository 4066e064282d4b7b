// versioned<T>(): a zeroed ABI struct with its version header filled in.
#include <gtest/gtest.h>

#include <qplug/sdk/versioned.hpp>

using qplug::sdk::versioned;

namespace {

TEST(Versioned, FillsTheHeaderAndZeroesTheRest) {
  auto o = versioned<qplug_publish_options>();
  EXPECT_EQ(o.struct_size, sizeof(qplug_publish_options));
  EXPECT_EQ(o.abi_major, QPLUG_ABI_MAJOR);
  EXPECT_EQ(o.abi_minor, QPLUG_ABI_MINOR);
  EXPECT_EQ(o.timeout_ms, 0);

  auto s = versioned<qplug_subscribe_options>();
  EXPECT_EQ(s.struct_size, sizeof(qplug_subscribe_options));
  EXPECT_EQ(s.prefetch, 0u);
  EXPECT_EQ(s.group.ptr, nullptr);
  EXPECT_EQ(s.options, nullptr);
  EXPECT_EQ(s.option_count, 0u);
}

TEST(Versioned, WorksForEveryVersionedStruct) {
  EXPECT_EQ(versioned<qplug_message>().struct_size, sizeof(qplug_message));
  EXPECT_EQ(versioned<qplug_queue_info>().struct_size, sizeof(qplug_queue_info));
  EXPECT_EQ(versioned<qplug_host_v1>().struct_size, sizeof(qplug_host_v1));
  EXPECT_EQ(versioned<qplug_driver_v1>().abi_minor, QPLUG_ABI_MINOR);
  EXPECT_EQ(versioned<qplug_queue_info>().messages, 0);
}

}  // namespace
