// tests/drivers/amqp_driver_test.cpp -- what the amqp driver promises beyond
// the shared conformance suite, against a real rabbitmq-server: consumer
// groups on a fanout exchange (and queues declared by older versions), the
// unknown-disposition path, native delay over per-delay TTL queues, native
// priority (x-max-priority) and queue `arguments` pass-through. Built on the
// conformance harness (loader + C ABI only) with the amqp target.
#include <unistd.h>

#include <chrono>
#include <map>
#include <mutex>
#include <qplug/sdk/versioned.hpp>
#include <string>

#include "broker_env.hpp"
#include "conformance_harness.hpp"

namespace qplug::conformance {
namespace {

using Clock = std::chrono::steady_clock;

class AmqpDriver : public ConformanceTest {};

bool has_id(const std::vector<Received>& got, const std::string& id) {
  for (const auto& r : got)
    if (r.message.id == id) return true;
  return false;
}

sdk::OwnedMessage with_header(const std::string& id, const std::string& key, const std::string& value) {
  sdk::OwnedMessage m = make_message(id, "body of " + id);
  add_header(m, key, QPLUG_VALUE_STRING, 0, 0, value);
  return m;
}

// Records when each message ID arrived (the policy runs in the callback).
struct Arrivals {
  std::mutex mu;
  std::map<std::string, Clock::time_point> at;
  Policy policy() {
    return [this](const Received& r) {
      std::lock_guard lock(mu);
      at.emplace(r.message.id, Clock::now());
      return QPLUG_ACK;
    };
  }
  Clock::time_point of(const std::string& id) {
    std::lock_guard lock(mu);
    return at.at(id);
  }
};

// Finding 4b: an unknown disposition used to free the delivery without
// telling the I/O thread, so its prefetch slot stayed taken until a reconnect.
TEST_F(AmqpDriver, UnknownDispositionIsInvalidAndGivesTheMessageBack) {
  auto q = declare_unique();
  ASSERT_TRUE(q);
  Collector got;
  Consumer c(
      *q, got, [](const Received&) { return kHold; }, 1);
  ASSERT_TRUE(c.ok()) << describe(c.status());
  ASSERT_EQ(q->publish(make_message("first", "x")), QPLUG_OK);
  ASSERT_EQ(q->publish(make_message("second", "x")), QPLUG_OK);
  ASSERT_TRUE(got.wait_for(1));
  qplug_status st = sdk::make_status();
  EXPECT_EQ(got.settle(0, 7, &st), QPLUG_INVALID);
  EXPECT_NE(std::string(st.message).find("disposition 7"), std::string::npos) << st.message;
  // The slot is free again: the next delivery (the message given back, or
  // the second one) arrives at prefetch 1.
  ASSERT_TRUE(got.wait_for(2)) << "the prefetch slot stayed taken after an unknown disposition";
  got.settle_held(QPLUG_ACK);
  ASSERT_TRUE(got.wait_until([](const auto& v) { return has_id(v, "first") && has_id(v, "second") && v.size() >= 3; }))
      << "the message settled with an unknown disposition was not given back";
  got.settle_held(QPLUG_ACK);
}

// Finding (issue 9 gaps): the I/O thread turned publish_timeout into
// nanoseconds with `* 1000000`, which wraps negative for the largest values
// the duration parser accepts (up to 1e15 ms). Then every unconfirmed publish
// looked overdue (the connection was dropped again and again) and the copy a
// nack republishes had a deadline in the past. Saturating, they mean "wait
// practically forever".
TEST_F(AmqpDriver, HugePublishTimeoutNeverExpiresAtOnce) {
  KeyValues cfg = target().config;
  for (auto& [key, value] : cfg)
    if (key == "publish_timeout") value = "10000000000000";  // 1e13 ms: * 1e6 wraps negative
  std::vector<qplug_kv> kv = to_kv(cfg);
  Driver huge;
  huge.vt = vt_;
  qplug_status st = sdk::make_status();
  huge.handle = vt_->open(nullptr, kv.data(), kv.size(), &st);
  ASSERT_NE(huge.handle, nullptr) << describe(st);
  auto q = huge.declare(unique_name("huge"), target().queue_options, &st);
  ASSERT_TRUE(q) << describe(st);
  Collector got;
  Consumer c(
      *q, got, [](const Received& r) { return r.message.attempts < 2 ? QPLUG_NACK_REQUEUE : QPLUG_ACK; }, 5);
  ASSERT_TRUE(c.ok()) << describe(c.status());
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(q->publish(make_message('h' + std::to_string(i), "x"), &st), QPLUG_OK) << describe(st);
  }
  EXPECT_TRUE(got.wait_until([](const auto& v) {
    size_t second = 0;
    for (const auto& r : v) second += r.message.attempts == 2 ? 1 : 0;
    return second >= 20;
  })) << "nacked messages were not republished with attempts 2; got "
      << got.count() << " deliveries";
}

// A named group's queue is durable: it keeps what is published while none of
// its consumers is subscribed (from its first subscribe on).
TEST_F(AmqpDriver, NamedGroupKeepsMessagesPublishedWhileItHasNoConsumer) {
  auto q = declare_unique();
  ASSERT_TRUE(q);
  {
    Collector first;
    Consumer c(*q, first, nullptr, 10, 0, "audit");
    ASSERT_TRUE(c.ok()) << describe(c.status());
  }
  for (int i = 0; i < 3; ++i) ASSERT_EQ(q->publish(make_message('a' + std::to_string(i), "x")), QPLUG_OK);
  Collector audit, workers;
  Consumer a(*q, audit, nullptr, 10, 0, "audit");
  Consumer w(*q, workers, nullptr, 10, 1);  // the default group: the queue itself
  ASSERT_TRUE(a.ok() && w.ok());
  EXPECT_TRUE(audit.wait_for(3)) << "group 'audit' got " << audit.count();
  EXPECT_TRUE(workers.wait_for(3)) << "the default group got " << workers.count();
  quiet_period();
  EXPECT_EQ(audit.count(), 3u);
  EXPECT_EQ(workers.count(), 3u);
}

// Two consumers of one group compete; a second group sees every message.
TEST_F(AmqpDriver, ConsumersOfOneGroupCompete) {
  auto q = declare_unique();
  ASSERT_TRUE(q);
  Collector billing, audit;
  Consumer b1(*q, billing, nullptr, 5, 0, "billing");
  Consumer b2(*q, billing, nullptr, 5, 1, "billing");
  Consumer a(*q, audit, nullptr, 5, 2, "audit");
  ASSERT_TRUE(b1.ok() && b2.ok() && a.ok());
  for (int i = 0; i < 40; ++i) ASSERT_EQ(q->publish(make_message('m' + std::to_string(i), "x")), QPLUG_OK);
  ASSERT_TRUE(billing.wait_for(40));
  ASSERT_TRUE(audit.wait_for(40));
  quiet_period();
  EXPECT_EQ(billing.count(), 40u) << "a message reached both consumers of one group";
  EXPECT_EQ(audit.count(), 40u);
}

TEST_F(AmqpDriver, GroupNameIsChecked) {
  auto q = declare_unique();
  ASSERT_TRUE(q);
  Collector got;
  Consumer c(*q, got, nullptr, 5, 0, std::string(300, 'g'));
  EXPECT_FALSE(c.ok());
  EXPECT_EQ(c.status().code, QPLUG_INVALID);
  EXPECT_NE(std::string(c.status().message).find("group"), std::string::npos) << c.status().message;
}

// A queue declared and filled by an older qplug (or any client) that
// published through the default exchange keeps its messages; the default
// group is that very queue.
TEST_F(AmqpDriver, QueueDeclaredByAnOlderVersionKeepsItsMessages) {
  const std::string name = unique_name("old");
  std::string py = ::access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
  std::string out =
      qplug::testing::run_command(py + " " QPLUG_AMQP_PIKA " publish '" +
                                  qplug::testing::broker_url(qplug::testing::kRabbitmq) + "' " + name + " 2>&1");
  ASSERT_EQ(out, "") << "pika publish failed: " << out;
  // Declared with exactly pika's arguments (not the target's queue options,
  // which a re-declare of an existing queue would have to match).
  const std::string k = "queue_expiry", v = "300s";
  qplug_kv opt{{k.data(), k.size()}, {v.data(), v.size()}};
  qplug_status st = sdk::make_status();
  qplug_queue* handle = vt_->declare(driver_.handle, {name.data(), name.size()}, &opt, 1, &st);
  ASSERT_NE(handle, nullptr) << describe(st);
  auto q = std::make_unique<Queue>(vt_, handle, name);
  Collector got;
  Consumer c(*q, got, nullptr, 10);
  ASSERT_TRUE(c.ok()) << describe(c.status());
  ASSERT_EQ(q->publish(make_message("new-1", "x")), QPLUG_OK);
  EXPECT_TRUE(got.wait_until([](const auto& v) { return has_id(v, "pika-1") && has_id(v, "new-1"); }));
}

// Delay: not before it is due, and a later, shorter (or no) delay is not held up.
TEST_F(AmqpDriver, DelayedMessageWaitsAndHoldsUpNothing) {
  auto q = declare_unique();
  ASSERT_TRUE(q);
  Arrivals arrivals;
  Collector got;
  Consumer c(*q, got, arrivals.policy(), 1);
  ASSERT_TRUE(c.ok()) << describe(c.status());
  auto t0 = Clock::now();
  ASSERT_EQ(q->publish(with_header("late", "delay", "3s")), QPLUG_OK);
  auto t1 = Clock::now();
  sdk::OwnedMessage soon = make_message("soon", "x");
  add_header(soon, "delay", QPLUG_VALUE_INT64, 400);
  ASSERT_EQ(q->publish(soon), QPLUG_OK);
  ASSERT_EQ(q->publish(make_message("now", "x")), QPLUG_OK);
  ASSERT_TRUE(got.wait_until([](const auto& v) { return v.size() >= 3; }));
  EXPECT_LT(arrivals.of("now"), arrivals.of("soon"));
  EXPECT_LT(arrivals.of("soon"), arrivals.of("late")) << "a 3s delay held up a 400 ms one";
  EXPECT_GE(arrivals.of("late") - t0, std::chrono::milliseconds(3000)) << "delivered before its delay";
  EXPECT_GE(arrivals.of("soon") - t1, std::chrono::milliseconds(400)) << "delivered before its delay";
  // Applied, so consumed (as on every driver): a republish is not delayed again.
  for (const auto& r : got.snapshot())
    for (const auto& h : r.message.headers) EXPECT_NE(h.key, "delay") << r.message.id;
}

TEST_F(AmqpDriver, DelayedMessageReachesEveryGroup) {
  auto q = declare_unique();
  ASSERT_TRUE(q);
  Collector one, two;
  Consumer a(*q, one, nullptr, 5, 0);
  Consumer b(*q, two, nullptr, 5, 1, "second");
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(q->publish(with_header("d", "delay", "300ms")), QPLUG_OK);
  EXPECT_TRUE(one.wait_for(1));
  EXPECT_TRUE(two.wait_for(1));
}

TEST_F(AmqpDriver, MalformedDelayIsInvalidNamingTheHeader) {
  auto q = declare_unique();
  ASSERT_TRUE(q);
  qplug_status st = sdk::make_status();
  EXPECT_EQ(q->publish(with_header("bad", "delay", "soon"), &st), QPLUG_INVALID);
  EXPECT_NE(std::string(st.message).find("'delay'"), std::string::npos) << st.message;
  sdk::OwnedMessage neg = make_message("neg", "x");
  add_header(neg, "delay", QPLUG_VALUE_INT64, -5);
  EXPECT_EQ(q->publish(neg, &st), QPLUG_INVALID);
  // A ttl that runs out before the delay would deliver a dead message early.
  sdk::OwnedMessage both = with_header("both", "delay", "10s");
  add_header(both, "ttl", QPLUG_VALUE_STRING, 0, 0, "1s");
  EXPECT_EQ(q->publish(both, &st), QPLUG_INVALID);
  EXPECT_NE(std::string(st.message).find("ttl"), std::string::npos) << st.message;
}

// Priority: with max_priority declared, ready messages leave highest first,
// and a message without the header counts as "normal" (5), not 0.
TEST_F(AmqpDriver, PriorityOrdersReadyMessages) {
  auto q = declare_unique({{"max_priority", "9"}});
  ASSERT_TRUE(q);
  ASSERT_EQ(q->publish(with_header("low", "priority", "low")), QPLUG_OK);
  ASSERT_EQ(q->publish(make_message("plain", "x")), QPLUG_OK);
  ASSERT_EQ(q->publish(with_header("high", "priority", "HIGH")), QPLUG_OK);
  ASSERT_EQ(q->publish(with_header("zero", "priority", "0")), QPLUG_OK);
  Collector got;
  Consumer c(*q, got, nullptr, 1);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(got.wait_for(4));
  auto v = got.snapshot();
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(v[0].message.id, "high");
  EXPECT_EQ(v[1].message.id, "plain");
  EXPECT_EQ(v[2].message.id, "low");
  EXPECT_EQ(v[3].message.id, "zero");
  for (const auto& h : v[1].message.headers) EXPECT_NE(h.key, "priority") << "a header the publisher never set";
}

TEST_F(AmqpDriver, BadPriorityIsInvalidNamingTheHeader) {
  auto q = declare_unique();
  ASSERT_TRUE(q);
  qplug_status st = sdk::make_status();
  EXPECT_EQ(q->publish(with_header("p", "priority", "urgent"), &st), QPLUG_INVALID);
  EXPECT_NE(std::string(st.message).find("'priority'"), std::string::npos) << st.message;
}

// docs/configuration.md's example: `arguments: {x-max-length: 1000}`.
TEST_F(AmqpDriver, QueueArgumentsArePassedThroughTyped) {
  auto q = declare_unique({{"arguments.x-max-length", "2"}, {"arguments.x-overflow", "drop-head"}});
  ASSERT_TRUE(q);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(q->publish(make_message('m' + std::to_string(i), "x")), QPLUG_OK);
  auto info = sdk::versioned<qplug_queue_info>();
  qplug_status st = sdk::make_status();
  ASSERT_EQ(vt_->queue_info(q->handle, &info, &st), QPLUG_OK) << describe(st);
  EXPECT_EQ(info.messages, 2) << "x-max-length (an integer argument) was not applied";
}

TEST_F(AmqpDriver, ArgumentsQplugManagesAreInvalidNamingTheKey) {
  for (const char* key : {"arguments.x-dead-letter-exchange", "arguments.x-dead-letter-routing-key",
                          "arguments.x-max-priority", "arguments.max-length"}) {
    qplug_status st = sdk::make_status();
    auto q = driver_.declare(unique_name(), {{key, "1"}}, &st);
    EXPECT_FALSE(q) << key;
    EXPECT_EQ(st.code, QPLUG_INVALID) << key;
    EXPECT_NE(std::string(st.message).find(key), std::string::npos) << st.message;
  }
}

}  // namespace
}  // namespace qplug::conformance
