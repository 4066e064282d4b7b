// tests/conformance/conformance_priority.cpp -- the `priority` neutral header
// on drivers that claim QPLUG_CAP_PRIORITY: among the messages ready, a
// consumer is handed the higher priority first, FIFO within one priority.
// Drivers without the bit skip (`qplug check` reports the queue ignores it).
#include <string>
#include <vector>

#include "conformance_harness.hpp"

namespace qplug::conformance {
namespace {

using Priority = ConformanceTest;

#define REQUIRE_PRIORITY_CAP() \
  if (!has_cap(QPLUG_CAP_PRIORITY)) GTEST_SKIP() << "driver does not claim QPLUG_CAP_PRIORITY"

sdk::OwnedMessage with_priority(const std::string& id, const std::string& priority) {
  auto m = make_message(id, "x");
  if (!priority.empty()) add_header(m, "priority", QPLUG_VALUE_STRING, 0, 0, priority);
  return m;
}

std::vector<std::string> ids_of(const std::vector<Received>& v) {
  std::vector<std::string> out;
  for (const auto& r : v) out.push_back(r.message.id);
  return out;
}

TEST_F(Priority, HigherPriorityFirstFifoWithinAPriority) {
  REQUIRE_PRIORITY_CAP();
  auto q = declare_unique();
  ASSERT_TRUE(q);
  // Published with no consumer, so all of them are ready when it subscribes.
  std::vector<sdk::OwnedMessage> ms;
  ms.push_back(with_priority("low-1", "low"));
  ms.push_back(with_priority("normal-1", "normal"));
  ms.push_back(with_priority("high-1", "high"));
  ms.push_back(with_priority("none-1", ""));  // absent = normal (5)
  ms.push_back(with_priority("low-2", "LOW"));
  ms.push_back(with_priority("high-2", "9"));
  {
    auto m = make_message("seven-1", "x");
    add_header(m, "priority", QPLUG_VALUE_INT64, 7);
    ms.push_back(std::move(m));
  }
  ms.push_back(with_priority("normal-2", "5"));
  ms.push_back(with_priority("zero-1", "0"));
  ms.push_back(with_priority("high-3", "high"));
  for (auto& m : ms) {
    qplug_status st = sdk::make_status();
    ASSERT_EQ(q->publish(m, &st), QPLUG_OK) << m.id << ": " << describe(st);
  }
  Collector got;
  Consumer c(*q, got, nullptr, 1);  // prefetch 1: each next message is chosen among all ready
  ASSERT_TRUE(c.ok()) << describe(c.status());
  ASSERT_TRUE(got.wait_for(ms.size())) << "got " << got.count() << " of " << ms.size();
  const std::vector<std::string> want = {"high-1", "high-2",   "high-3", "seven-1", "normal-1",
                                         "none-1", "normal-2", "low-1",  "low-2",   "zero-1"};
  EXPECT_EQ(ids_of(got.snapshot()), want);
}

TEST_F(Priority, MalformedPriorityIsInvalidNamingTheHeader) {
  REQUIRE_PRIORITY_CAP();
  auto q = declare_unique();
  ASSERT_TRUE(q);
  std::vector<sdk::OwnedMessage> bad;
  bad.push_back(with_priority("bad-text", "urgent"));
  bad.push_back(with_priority("bad-ten", "10"));
  {
    auto m = make_message("bad-int", "x");
    add_header(m, "priority", QPLUG_VALUE_INT64, 42);
    bad.push_back(std::move(m));
  }
  for (auto& m : bad) {
    qplug_status st = sdk::make_status();
    EXPECT_EQ(q->publish(m, &st), QPLUG_INVALID) << m.id << ": " << describe(st);
    EXPECT_NE(std::string(st.message).find("priority"), std::string::npos) << m.id << ": " << describe(st);
  }
}

}  // namespace
}  // namespace qplug::conformance
