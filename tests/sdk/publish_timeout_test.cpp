// publish_timeout.hpp: resolving qplug_publish_options.timeout_ms against a
// driver default, and deadlines that saturate instead of overflowing.
#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <limits>
#include <qplug/sdk/parse.hpp>
#include <qplug/sdk/publish_timeout.hpp>
#include <qplug/sdk/versioned.hpp>

using qplug::sdk::deadline_after;
using qplug::sdk::deadline_ns_after;
using qplug::sdk::publish_timeout_ms;
using qplug::sdk::versioned;

namespace {

constexpr int64_t kDefault = 5000;

TEST(PublishTimeout, NegativeOrMissingMeansTheDriverDefault) {
  EXPECT_EQ(publish_timeout_ms(nullptr, kDefault), kDefault);
  auto o = versioned<qplug_publish_options>();
  o.timeout_ms = -1;
  EXPECT_EQ(publish_timeout_ms(&o, kDefault), kDefault);
  o.timeout_ms = std::numeric_limits<int64_t>::min();
  EXPECT_EQ(publish_timeout_ms(&o, kDefault), kDefault);
}

TEST(PublishTimeout, ZeroMeansFailAtOnceAndPositiveIsTaken) {
  auto o = versioned<qplug_publish_options>();
  o.timeout_ms = 0;
  EXPECT_EQ(publish_timeout_ms(&o, kDefault), 0);
  o.timeout_ms = 250;
  EXPECT_EQ(publish_timeout_ms(&o, kDefault), 250);
}

TEST(PublishTimeout, AnOlderWriterWithoutTheFieldGetsTheDefault) {
  auto o = versioned<qplug_publish_options>();
  o.timeout_ms = 0;
  o.struct_size = offsetof(qplug_publish_options, timeout_ms);
  EXPECT_EQ(publish_timeout_ms(&o, kDefault), kDefault) << "a field beyond struct_size must not be read";
}

TEST(DeadlineAfter, AddsMillisecondsToNow) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point now = Clock::now();
  EXPECT_EQ(deadline_after<Clock>(1500, now), now + std::chrono::milliseconds(1500));
  EXPECT_EQ(deadline_after<Clock>(0, now), now);
  EXPECT_EQ(deadline_after<Clock>(-3, now), now) << "a negative timeout is already over";
}

TEST(DeadlineAfter, HugeTimeoutsSaturateInsteadOfWrappingIntoThePast) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point now = Clock::now();
  for (int64_t ms : {int64_t{1000000000000000}, std::numeric_limits<int64_t>::max()}) {
    Clock::time_point d = deadline_after<Clock>(ms, now);
    EXPECT_GT(d, now) << ms;
    EXPECT_EQ(d, Clock::time_point::max()) << ms;
  }
  auto sys = deadline_after<std::chrono::system_clock>(std::numeric_limits<int64_t>::max());
  EXPECT_EQ(sys, std::chrono::system_clock::time_point::max());
}

TEST(DeadlineNsAfter, AddsAndSaturates) {
  EXPECT_EQ(deadline_ns_after(1000, 2), 2001000);
  EXPECT_EQ(deadline_ns_after(1000, 0), 1000);
  EXPECT_EQ(deadline_ns_after(1000, -1), 1000);
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(deadline_ns_after(1000, 10000000000000), kMax) << "1e13 ms is 1e19 ns: more than int64 holds";
  EXPECT_EQ(deadline_ns_after(kMax - 10, 1), kMax);
}

TEST(MsToNsSaturating, ConvertsAndSaturatesAtTheLargestDurationSetting) {
  using qplug::sdk::ms_to_ns_saturating;
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(ms_to_ns_saturating(3), 3000000);
  EXPECT_EQ(ms_to_ns_saturating(0), 0);
  EXPECT_EQ(ms_to_ns_saturating(-5), 0);
  EXPECT_EQ(ms_to_ns_saturating(kMax / 1000000), kMax / 1000000 * 1000000) << "the largest exact value";
  EXPECT_EQ(ms_to_ns_saturating(kMax / 1000000 + 1), kMax);
  // The parser's ceiling (parse.hpp kMaxDurationMs, 1e15 ms): `* 1000000` would wrap negative.
  EXPECT_EQ(ms_to_ns_saturating(static_cast<int64_t>(qplug::sdk::kMaxDurationMs)), kMax);
}

}  // namespace
