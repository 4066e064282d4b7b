// tests/conformance/conformance_delay.cpp -- the `delay` neutral header on
// drivers that claim QPLUG_CAP_DELAY: a delayed message is not handed out
// before its delay and is handed out after it, waits without holding a
// consumer's prefetch slot or the messages published after it, survives a
// close/reopen where the driver is durable, and a malformed delay is INVALID.
// Drivers without the bit skip (the core refuses a delayed publish to them).
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

#include "conformance_harness.hpp"

namespace qplug::conformance {
namespace {

using Delay = ConformanceTest;
using Clock = std::chrono::steady_clock;

#define REQUIRE_DELAY_CAP() \
  if (!has_cap(QPLUG_CAP_DELAY)) GTEST_SKIP() << "driver does not claim QPLUG_CAP_DELAY (the core refuses delay)"

sdk::OwnedMessage delayed_message(const std::string& id, const std::string& delay) {
  auto m = make_message(id, "x");
  add_header(m, "delay", QPLUG_VALUE_STRING, 0, 0, delay);
  return m;
}

sdk::OwnedMessage delayed_message_ms(const std::string& id, int64_t ms) {
  auto m = make_message(id, "x");
  add_header(m, "delay", QPLUG_VALUE_INT64, ms);
  return m;
}

// Records when each id arrived (the policy runs inside the delivery callback).
struct Arrivals {
  std::mutex mu;
  std::vector<std::pair<std::string, Clock::time_point>> seen;
  Policy ack_and_record() {
    return [this](const Received& r) {
      std::lock_guard lock(mu);
      seen.emplace_back(r.message.id, Clock::now());
      return static_cast<int32_t>(QPLUG_ACK);
    };
  }
  Clock::time_point at(const std::string& id) {
    std::lock_guard lock(mu);
    for (const auto& [i, t] : seen)
      if (i == id) return t;
    return Clock::time_point::max();
  }
};

bool has_id(const std::vector<Received>& v, const std::string& id) {
  for (const auto& r : v)
    if (r.message.id == id) return true;
  return false;
}

TEST_F(Delay, NotDeliveredBeforeItsDelayAndDeliveredAfter) {
  REQUIRE_DELAY_CAP();
  auto q = declare_unique();
  ASSERT_TRUE(q);
  Arrivals arrivals;
  Collector got;
  Consumer c(*q, got, arrivals.ack_and_record(), 10);
  ASSERT_TRUE(c.ok()) << describe(c.status());
  // One as a duration string, one as integer milliseconds. The shorter one
  // is published second, so it is due first only if its publish returned
  // less than the difference (1.4 s) after the first began: on a loaded box
  // a publish (amqp declares a delay level queue on first use) once took
  // longer than the 200 ms this test used to allow, and the order it then
  // asserted was not a driver fault.
  const auto t0 = Clock::now();
  qplug_status st = sdk::make_status();
  ASSERT_EQ(q->publish(delayed_message("d-string", "2s"), &st), QPLUG_OK) << describe(st);
  ASSERT_EQ(q->publish(delayed_message_ms("d-int", 600), &st), QPLUG_OK) << describe(st);
  const auto published = Clock::now() - t0;
  ASSERT_TRUE(got.wait_for(2, std::chrono::milliseconds(2000) + kDeadline)) << "delayed messages never arrived";
  EXPECT_GE(arrivals.at("d-string") - t0, std::chrono::milliseconds(2000)) << "'2s' delivered early";
  EXPECT_GE(arrivals.at("d-int") - t0, std::chrono::milliseconds(600)) << "600 ms delivered early";
  auto v = got.snapshot();
  if (published < std::chrono::milliseconds(1400)) {
    EXPECT_EQ(v[0].message.id, "d-int") << "the shorter delay is due first";
  } else {
    std::printf("[ NOTE ] publishing took %lld ms: the order of the two is not a driver property then\n",
                static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(published).count()));
  }
}

TEST_F(Delay, ZeroDelayIsImmediate) {
  REQUIRE_DELAY_CAP();
  auto q = declare_unique();
  ASSERT_TRUE(q);
  Collector got;
  Consumer c(*q, got, nullptr, 10);
  ASSERT_TRUE(c.ok()) << describe(c.status());
  qplug_status st = sdk::make_status();
  ASSERT_EQ(q->publish(delayed_message_ms("zero-int", 0), &st), QPLUG_OK) << describe(st);
  ASSERT_EQ(q->publish(delayed_message("zero-string", "0s"), &st), QPLUG_OK) << describe(st);
  EXPECT_TRUE(got.wait_for(2)) << "delay 0 must deliver like no delay; got " << got.count();
}

TEST_F(Delay, LaterImmediateMessageArrivesFirst) {
  REQUIRE_DELAY_CAP();
  auto q = declare_unique();
  ASSERT_TRUE(q);
  Collector got;
  Consumer c(*q, got, nullptr, 10);
  ASSERT_TRUE(c.ok()) << describe(c.status());
  qplug_status st = sdk::make_status();
  ASSERT_EQ(q->publish(delayed_message("late", "1s"), &st), QPLUG_OK) << describe(st);
  ASSERT_EQ(q->publish(make_message("now", "x"), &st), QPLUG_OK) << describe(st);
  ASSERT_TRUE(got.wait_for(2, std::chrono::seconds(1) + kDeadline)) << "got " << got.count() << " of 2";
  auto v = got.snapshot();
  EXPECT_EQ(v[0].message.id, "now") << "an immediate message waited behind a delayed one";
  EXPECT_EQ(v[1].message.id, "late");
}

TEST_F(Delay, WaitingMessageHoldsNoPrefetchSlot) {
  REQUIRE_DELAY_CAP();
  auto q = declare_unique();
  ASSERT_TRUE(q);
  Collector got;
  Consumer c(*q, got, nullptr, 1);  // prefetch 1: one held slot would stall everything
  ASSERT_TRUE(c.ok()) << describe(c.status());
  qplug_status st = sdk::make_status();
  ASSERT_EQ(q->publish(delayed_message("far", "10m"), &st), QPLUG_OK) << describe(st);
  constexpr int kImmediate = 20;
  for (int i = 0; i < kImmediate; ++i) {
    // Appended, not "i" + std::to_string(i): prepending to a string trips
    // GCC 12's -Wrestrict false positive at -O3 (issue 9, finding 5).
    std::string id = "i";
    id += std::to_string(i);
    ASSERT_EQ(q->publish(make_message(id, "x"), &st), QPLUG_OK) << describe(st);
  }
  ASSERT_TRUE(got.wait_for(kImmediate)) << "immediate messages stalled behind a delayed one: got " << got.count();
  quiet_period();
  EXPECT_FALSE(has_id(got.snapshot(), "far")) << "a 10 minute delay was delivered at once";
  EXPECT_EQ(got.count(), static_cast<size_t>(kImmediate));
}

TEST_F(Delay, MalformedDelayIsInvalidNamingTheHeader) {
  REQUIRE_DELAY_CAP();
  auto q = declare_unique();
  ASSERT_TRUE(q);
  struct Case {
    const char* what;
    sdk::OwnedMessage m;
  };
  std::vector<Case> cases;
  cases.push_back({"text", delayed_message("bad1", "soon")});
  cases.push_back({"negative string", delayed_message("bad2", "-5s")});
  cases.push_back({"negative int", delayed_message_ms("bad3", -5)});
  cases.push_back({"unit only", delayed_message("bad4", "ms")});
  {
    auto m = make_message("bad5", "x");
    add_header(m, "delay", QPLUG_VALUE_BOOL, 1);
    cases.push_back({"bool", std::move(m)});
  }
  for (auto& c : cases) {
    qplug_status st = sdk::make_status();
    EXPECT_EQ(q->publish(c.m, &st), QPLUG_INVALID) << c.what << ": " << describe(st);
    EXPECT_NE(std::string(st.message).find("delay"), std::string::npos) << c.what << ": " << describe(st);
  }
  // Nothing of the refused messages reached the queue.
  Collector got;
  Consumer c(*q, got, nullptr, 10);
  ASSERT_TRUE(c.ok()) << describe(c.status());
  quiet_period();
  EXPECT_EQ(got.count(), 0u);
}

TEST_F(Delay, DelayedMessageSurvivesCloseAndReopen) {
  REQUIRE_DELAY_CAP();
  if (!has_cap(QPLUG_CAP_PERSISTENT)) GTEST_SKIP() << "driver is not durable (no QPLUG_CAP_PERSISTENT)";
  const std::string name = unique_name();
  {
    qplug_status st = sdk::make_status();
    auto q = driver_.declare(name, {}, &st);
    ASSERT_TRUE(q) << describe(st);
    ASSERT_EQ(q->publish(delayed_message("durable", "1s"), &st), QPLUG_OK) << describe(st);
  }
  driver_.close();
  qplug_status st = sdk::make_status();
  ASSERT_EQ(driver_.open({}, &st), QPLUG_OK) << describe(st);
  auto q = driver_.declare(name, {}, &st);
  ASSERT_TRUE(q) << describe(st);
  Collector got;
  Consumer c(*q, got, nullptr, 10);
  ASSERT_TRUE(c.ok()) << describe(c.status());
  ASSERT_TRUE(got.wait_for(1, std::chrono::seconds(1) + kDeadline)) << "the delayed message was lost by close/reopen";
  EXPECT_EQ(got.snapshot()[0].message.id, "durable");
}

}  // namespace
}  // namespace qplug::conformance
