// tests/drivers/memory_groups_test.cpp -- the memory driver's consumer
// groups (plugins/memory/memory_groups.hpp) beyond the conformance case:
// competition inside a group, which messages a new group sees, and that
// delay, priority, nack requeue and backpressure work per group. Built on
// the conformance harness (loader + C ABI only) with the memory target.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <qplug/sdk/status.hpp>
#include <string>
#include <vector>

#include "conformance_harness.hpp"

namespace qplug::conformance {
namespace {

class MemoryGroups : public ConformanceTest {};

std::vector<std::string> ids(const std::vector<Received>& got) {
  std::vector<std::string> out;
  for (const auto& r : got) out.push_back(r.message.id);
  return out;
}

// Creates `group` on `q` the way a user does: its first subscribe.
void create_group(Queue& q, const std::string& group) {
  Collector none;
  Consumer c(q, none, nullptr, 1, 0, group);
  ASSERT_TRUE(c.ok()) << describe(c.status());
}

TEST_F(MemoryGroups, ConsumersOfOneGroupCompeteAndEveryGroupSeesAll) {
  auto q = declare_unique();
  ASSERT_TRUE(q);
  Collector billing, audit, workers;
  Consumer b1(*q, billing, nullptr, 5, 0, "billing");
  Consumer b2(*q, billing, nullptr, 5, 1, "billing");
  Consumer a(*q, audit, nullptr, 5, 2, "audit");
  Consumer w(*q, workers, nullptr, 5, 3);  // empty group: the queue itself
  ASSERT_TRUE(b1.ok() && b2.ok() && a.ok() && w.ok());
  for (int i = 0; i < 200; ++i) ASSERT_EQ(q->publish(make_message('m' + std::to_string(i), "x")), QPLUG_OK);
  ASSERT_TRUE(billing.wait_for(200));
  ASSERT_TRUE(audit.wait_for(200));
  ASSERT_TRUE(workers.wait_for(200));
  quiet_period();
  EXPECT_EQ(billing.count(), 200u) << "a message reached both consumers of one group";
  EXPECT_EQ(audit.count(), 200u);
  EXPECT_EQ(workers.count(), 200u);
}

// The group named like the queue is the default group (redis's default
// group name), as on amqp.
TEST_F(MemoryGroups, GroupNamedLikeTheQueueIsTheDefaultGroup) {
  auto q = declare_unique();
  ASSERT_TRUE(q);
  Collector got;
  Consumer plain(*q, got, nullptr, 5, 0);
  Consumer named(*q, got, nullptr, 5, 1, q->name);
  ASSERT_TRUE(plain.ok() && named.ok());
  for (int i = 0; i < 20; ++i) ASSERT_EQ(q->publish(make_message('m' + std::to_string(i), "x")), QPLUG_OK);
  ASSERT_TRUE(got.wait_for(20));
  quiet_period();
  EXPECT_EQ(got.count(), 20u) << "the queue-named group got its own copies";
}

TEST_F(MemoryGroups, NewGroupSeesWhatIsPublishedFromItsFirstSubscribeOnEvenWithoutConsumers) {
  auto q = declare_unique();
  ASSERT_TRUE(q);
  ASSERT_EQ(q->publish(make_message("before", "x")), QPLUG_OK);
  create_group(*q, "audit");  // and gone again: the group keeps collecting
  ASSERT_EQ(q->publish(make_message("after", "x")), QPLUG_OK);
  Collector audit, workers;
  Consumer a(*q, audit, nullptr, 5, 0, "audit");
  Consumer w(*q, workers, nullptr, 5, 1);
  ASSERT_TRUE(a.ok() && w.ok());
  ASSERT_TRUE(audit.wait_for(1));
  ASSERT_TRUE(workers.wait_for(2));
  quiet_period();
  EXPECT_EQ(ids(audit.snapshot()), std::vector<std::string>{"after"});
  EXPECT_EQ(workers.count(), 2u);
}

// A nack requeues into the nacking group only; the other group's copy is
// settled on its own.
TEST_F(MemoryGroups, NackRequeuesWithinItsGroupOnly) {
  auto q = declare_unique();
  ASSERT_TRUE(q);
  Collector retrying, once;
  Consumer r(
      *q, retrying, [](const Received& m) { return m.message.attempts < 3 ? QPLUG_NACK_REQUEUE : QPLUG_ACK; }, 5, 0,
      "retrying");
  Consumer o(*q, once, nullptr, 5, 1, "once");
  ASSERT_TRUE(r.ok() && o.ok());
  ASSERT_EQ(q->publish(make_message("n", "x")), QPLUG_OK);
  ASSERT_TRUE(retrying.wait_for(3));
  ASSERT_TRUE(once.wait_for(1));
  quiet_period();
  EXPECT_EQ(retrying.count(), 3u);
  EXPECT_EQ(retrying.snapshot().back().message.attempts, 3u);
  EXPECT_EQ(once.count(), 1u) << "a nack in one group redelivered in another";
  EXPECT_EQ(once.snapshot()[0].message.attempts, 1u);
}

TEST_F(MemoryGroups, DelayAndPriorityApplyInEveryGroup) {
  auto q = declare_unique();
  ASSERT_TRUE(q);
  create_group(*q, "g");
  const auto published = std::chrono::steady_clock::now();
  sdk::OwnedMessage late = make_message("late", "x");
  add_header(late, "delay", QPLUG_VALUE_STRING, 0, 0, "300ms");
  ASSERT_EQ(q->publish(late), QPLUG_OK);
  sdk::OwnedMessage low = make_message("low", "x");
  add_header(low, "priority", QPLUG_VALUE_STRING, 0, 0, "low");
  ASSERT_EQ(q->publish(low), QPLUG_OK);
  sdk::OwnedMessage high = make_message("high", "x");
  add_header(high, "priority", QPLUG_VALUE_STRING, 0, 0, "high");
  ASSERT_EQ(q->publish(high), QPLUG_OK);
  std::atomic<int64_t> late_after_ms{-1};
  Policy note_late = [&](const Received& r) {
    if (r.message.id == "late")
      late_after_ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - published).count();
    return QPLUG_ACK;
  };
  Collector in_group, in_queue;
  Consumer g(*q, in_group, note_late, 1, 0, "g");  // prefetch 1: one at a time, in priority order
  Consumer d(*q, in_queue, nullptr, 1, 1);
  ASSERT_TRUE(g.ok() && d.ok());
  ASSERT_TRUE(in_group.wait_for(3));
  ASSERT_TRUE(in_queue.wait_for(3));
  for (Collector* c : {&in_group, &in_queue}) {
    auto got = ids(c->snapshot());
    auto at = [&](const std::string& id) { return std::find(got.begin(), got.end(), id) - got.begin(); };
    EXPECT_LT(at("high"), at("low")) << "priority ignored";
    EXPECT_LT(at("late"), 3) << "delayed message missing";
  }
  EXPECT_GE(late_after_ms.load(), 300) << "the group's copy was delivered before its delay";
  for (const auto& m : in_group.snapshot())
    for (const auto& h : m.message.headers) EXPECT_NE(h.key, "delay") << "the group's copy kept `delay`";
}

// A message is admitted to all groups or none: a full group is
// backpressure naming the group, never a copy silently missing from it.
TEST_F(MemoryGroups, FullGroupRefusesThePublishNamingTheGroup) {
  auto q = declare_unique({{"max_length", "2"}});
  ASSERT_TRUE(q);
  create_group(*q, "slow");
  Collector workers;
  Consumer w(*q, workers, nullptr, 10, 0);  // drains the default group
  ASSERT_TRUE(w.ok());
  ASSERT_EQ(q->publish(make_message("a", "x")), QPLUG_OK);
  ASSERT_EQ(q->publish(make_message("b", "x")), QPLUG_OK);
  ASSERT_TRUE(workers.wait_for(2));  // the default group has room again; "slow" is full
  qplug_status st = sdk::make_status();
  EXPECT_EQ(q->publish(make_message("c", "x"), &st, 0), QPLUG_FULL);
  EXPECT_NE(std::string(st.message).find("group 'slow'"), std::string::npos) << st.message;
  quiet_period();
  EXPECT_EQ(ids(workers.snapshot()), (std::vector<std::string>{"a", "b"})) << "the refused message went in somewhere";
  Collector slow;
  Consumer s(*q, slow, nullptr, 10, 1, "slow");
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(slow.wait_for(2));
  EXPECT_EQ(ids(slow.snapshot()), (std::vector<std::string>{"a", "b"}));
}

}  // namespace
}  // namespace qplug::conformance
