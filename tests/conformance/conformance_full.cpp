// tests/conformance/conformance_full.cpp -- the full part of the ONE
// conformance suite: concurrency, close/reopen without loss, prefetch,
// competing consumers, consumer groups, shutdown, broker restart.
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "conformance_harness.hpp"

namespace qplug::conformance {
namespace {

using Full = ConformanceTest;

// Counts deliveries per id; a duplicate is only allowed as a redelivery.
void expect_exactly_once_unless_redelivered(const std::vector<Received>& got, const std::set<std::string>& sent) {
  std::map<std::string, int> seen;
  for (const auto& r : got) {
    int n = ++seen[r.message.id];
    if (n > 1) {
      EXPECT_GT(r.message.attempts, 1u) << r.message.id << " duplicated without being redelivered";
    }
  }
  for (const auto& id : sent) EXPECT_EQ(seen.count(id), 1u) << id << " lost";
  EXPECT_EQ(seen.size(), sent.size()) << "unexpected ids delivered";
}

bool has_all(const std::vector<Received>& got, size_t n) {
  std::set<std::string> ids;
  for (const auto& r : got) ids.insert(r.message.id);
  return ids.size() >= n;
}

TEST_F(Full, TwentyPublishersTenConsumersLoseNothing) {
  auto q = declare_unique();
  ASSERT_TRUE(q);
  constexpr int kPublishers = 20, kConsumers = 10, kEach = 100;
  Collector got;
  std::vector<std::unique_ptr<Consumer>> consumers;
  for (int i = 0; i < kConsumers; ++i) {
    consumers.push_back(std::make_unique<Consumer>(*q, got, nullptr, 10, i));
    ASSERT_TRUE(consumers.back()->ok()) << describe(consumers.back()->status());
  }
  std::atomic<int> failures{0};
  std::vector<std::thread> publishers;
  for (int p = 0; p < kPublishers; ++p)
    publishers.emplace_back([&, p] {
      for (int i = 0; i < kEach; ++i)
        if (q->publish_retrying(make_message('p' + std::to_string(p) + "-" + std::to_string(i), "x")) != QPLUG_OK)
          failures.fetch_add(1);
    });
  for (auto& t : publishers) t.join();
  EXPECT_EQ(failures.load(), 0);
  std::set<std::string> sent;
  for (int p = 0; p < kPublishers; ++p)
    for (int i = 0; i < kEach; ++i) sent.insert('p' + std::to_string(p) + "-" + std::to_string(i));
  ASSERT_TRUE(got.wait_until([&](const auto& v) { return has_all(v, sent.size()); }))
      << "got " << got.count() << " of " << sent.size();
  quiet_period();
  expect_exactly_once_unless_redelivered(got.snapshot(), sent);
}

TEST_F(Full, UnsubscribeWithUnsettledDeliveriesLosesNothing) {
  auto q = declare_unique();
  ASSERT_TRUE(q);
  constexpr size_t kCount = 50, kPrefetch = 10;
  std::set<std::string> sent;
  for (size_t i = 0; i < kCount; ++i) {
    std::string id = 'r' + std::to_string(i);
    sent.insert(id);
    ASSERT_EQ(q->publish(make_message(id, "x")), QPLUG_OK);
  }
  Collector first;
  auto c = std::make_unique<Consumer>(
      *q, first, [](const Received&) { return kHold; }, kPrefetch);
  ASSERT_TRUE(c->ok()) << describe(c->status());
  ASSERT_TRUE(first.wait_for(kPrefetch));
  qplug_status st = sdk::make_status();
  ASSERT_EQ(c->unsubscribe(&st), QPLUG_OK) << describe(st);
  // Settling after unsubscribe: CANCELED means the broker got it back; OK
  // means the ack went through (consumed). Anything else must not lose it either.
  std::set<std::string> consumed;
  auto held = first.snapshot();
  for (size_t i = 0; i < held.size(); ++i) {
    qplug_status s = sdk::make_status();
    int32_t rc = first.settle(i, QPLUG_ACK, &s);
    EXPECT_TRUE(rc == QPLUG_OK || rc == QPLUG_CANCELED || rc == QPLUG_UNAVAILABLE) << describe(s);
    if (rc == QPLUG_OK) consumed.insert(held[i].message.id);
  }
  c.reset();

  Collector second;
  Consumer c2(*q, second, nullptr, kPrefetch);
  ASSERT_TRUE(second.wait_until([&](const std::vector<Received>& v) {
    std::set<std::string> all = consumed;
    for (const auto& r : v) all.insert(r.message.id);
    return all.size() == kCount;
  })) << "messages lost across close/reopen: consumed "
      << consumed.size() << ", redelivered " << second.count();
  if (has_cap(QPLUG_CAP_DELIVERY_COUNT)) {
    std::set<std::string> held_ids;
    for (const auto& h : held) held_ids.insert(h.message.id);
    for (const auto& r : second.snapshot()) {
      if (held_ids.count(r.message.id) != 0 && consumed.count(r.message.id) == 0) {
        EXPECT_GE(r.message.attempts, 2u) << r.message.id << " redelivered without attempts+1";
      }
    }
  }
}

TEST_F(Full, PrefetchIsNeverExceeded) {
  auto q = declare_unique();
  ASSERT_TRUE(q);
  constexpr size_t kCount = 200, kPrefetch = 5;
  for (size_t i = 0; i < kCount; ++i) ASSERT_EQ(q->publish(make_message('f' + std::to_string(i), "x")), QPLUG_OK);
  Collector got;
  Consumer c(
      *q, got, [](const Received&) { return kHold; }, kPrefetch);
  ASSERT_TRUE(c.ok()) << describe(c.status());
  // A separate thread settles what is held, so the driver keeps refilling.
  size_t settled = 0;
  while (settled < kCount) {
    ASSERT_TRUE(got.wait_for(settled + 1)) << "stalled after " << settled;
    EXPECT_EQ(got.settle(settled, QPLUG_ACK), QPLUG_OK);
    ++settled;
  }
  EXPECT_LE(got.max_outstanding(), kPrefetch);
  EXPECT_GE(got.max_outstanding(), 1u);
}

TEST_F(Full, CompetingConsumersShareTheQueue) {
  if (!has_cap(QPLUG_CAP_COMPETING_CONSUMERS)) GTEST_SKIP() << "driver lacks COMPETING_CONSUMERS";
  auto q = declare_unique();
  ASSERT_TRUE(q);
  Collector got;
  // Each consumer holds its single delivery, so the second message must go to the other one.
  Consumer a(
      *q, got, [](const Received&) { return kHold; }, 1, 0);
  Consumer b(
      *q, got, [](const Received&) { return kHold; }, 1, 1);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(q->publish(make_message("c1", "x")), QPLUG_OK);
  ASSERT_EQ(q->publish(make_message("c2", "x")), QPLUG_OK);
  ASSERT_TRUE(got.wait_for(2)) << "only " << got.count() << " delivered to two consumers with prefetch 1";
  auto r = got.snapshot();
  EXPECT_NE(r[0].consumer, r[1].consumer) << "one consumer got both messages";
  EXPECT_NE(r[0].message.id, r[1].message.id) << "a message went to both competing consumers";
  for (int32_t rc : got.settle_held(QPLUG_ACK)) EXPECT_EQ(rc, QPLUG_OK);
}

TEST_F(Full, ConsumerGroupsEachSeeEveryMessage) {
  if (!has_cap(QPLUG_CAP_CONSUMER_GROUPS)) GTEST_SKIP() << "driver lacks CONSUMER_GROUPS";
  auto q = declare_unique();
  ASSERT_TRUE(q);
  Collector g1, g2;
  Consumer a(*q, g1, nullptr, 10, 0, "group-one");
  Consumer b(*q, g2, nullptr, 10, 1, "group-two");
  ASSERT_TRUE(a.ok()) << describe(a.status());
  ASSERT_TRUE(b.ok()) << describe(b.status());
  quiet_period();  // groups created before the first publish
  for (int i = 0; i < 20; ++i) ASSERT_EQ(q->publish(make_message('g' + std::to_string(i), "x")), QPLUG_OK);
  EXPECT_TRUE(g1.wait_until([](const auto& v) { return has_all(v, 20); })) << "group one got " << g1.count();
  EXPECT_TRUE(g2.wait_until([](const auto& v) { return has_all(v, 20); })) << "group two got " << g2.count();
}

TEST_F(Full, CloseWhileConsumingIsClean) {
  auto q = declare_unique();
  ASSERT_TRUE(q);
  Collector got;
  auto c1 = std::make_unique<Consumer>(*q, got, nullptr, 10, 0);
  auto c2 = std::make_unique<Consumer>(
      *q, got, [](const Received&) { return kHold; }, 10, 1);
  ASSERT_TRUE(c1->ok() && c2->ok());
  std::vector<sdk::OwnedMessage> batch;
  for (int i = 0; i < 100; ++i) batch.push_back(make_message('w' + std::to_string(i), "x"));
  size_t accepted = 0;
  ASSERT_EQ(q->publish_batch(batch, &accepted), QPLUG_OK);
  ASSERT_TRUE(got.wait_for(5));
  // Async publishes still pending at close must complete exactly once.
  struct Done {
    std::atomic<int> calls{0};
  } done;
  std::vector<const qplug_message*> ptrs;
  for (auto& m : batch) ptrs.push_back(&m.view());
  qplug_status st = sdk::make_status();
  int32_t rc = vt_->publish(
      q->handle, ptrs.data(), ptrs.size(), nullptr,
      [](void* ud, const qplug_status*, size_t) { static_cast<Done*>(ud)->calls.fetch_add(1); }, &done, nullptr, &st);
  ASSERT_EQ(rc, QPLUG_OK) << describe(st);
  EXPECT_EQ(c1->unsubscribe(), QPLUG_OK);
  EXPECT_EQ(c2->unsubscribe(), QPLUG_OK);
  size_t at_unsubscribe = got.callbacks_total.load();
  got.settle_held(QPLUG_ACK);
  c1.reset();
  c2.reset();
  driver_.close();
  EXPECT_EQ(done.calls.load(), 1) << "async publish completion not called exactly once by close()";
  EXPECT_EQ(got.callbacks_total.load(), at_unsubscribe);
  EXPECT_EQ(got.callbacks_running.load(), 0);
}

// A callback that settles while its consumer's unsubscribe() waits for it:
// driver.h lets that settle() answer OK (consumed) or CANCELED (the broker
// gets the message back). Either way nothing is lost or consumed twice.
TEST_F(Full, SettleInsideCallbackRacingUnsubscribeLosesNothing) {
  auto q = declare_unique();
  ASSERT_TRUE(q);
  ASSERT_EQ(q->publish(make_message("race", "x")), QPLUG_OK);
  std::atomic<bool> entered{false}, unsubscribing{false};
  Collector got;
  auto c = std::make_unique<Consumer>(*q, got, [&](const Received&) {
    entered.store(true);
    const auto deadline = std::chrono::steady_clock::now() + kDeadline;
    while (!unsubscribing.load() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    // Widen the race: let unsubscribe() get as far as waiting for this
    // callback before it settles (not an assertion; both outcomes are valid).
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    return QPLUG_ACK;
  });
  ASSERT_TRUE(c->ok()) << describe(c->status());
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (!entered.load() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_TRUE(entered.load()) << "no delivery";
  unsubscribing.store(true);
  qplug_status st = sdk::make_status();
  ASSERT_EQ(c->unsubscribe(&st), QPLUG_OK) << describe(st);
  c.reset();
  auto first = got.snapshot();
  ASSERT_EQ(first.size(), 1u);
  const int32_t rc = first[0].callback_settle_rc;
  ASSERT_TRUE(rc == QPLUG_OK || rc == QPLUG_CANCELED) << "settle inside the callback returned " << rc;

  Collector again;
  Consumer c2(*q, again, nullptr);
  if (rc == QPLUG_CANCELED) {
    EXPECT_TRUE(again.wait_for(1)) << "settle answered CANCELED but the broker did not redeliver the message";
  } else {
    quiet_period();
    EXPECT_EQ(again.count(), 0u) << "settle answered OK but the message came back";
  }
}

TEST_F(Full, BrokerRestartMidStream) {
  const Target& t = target();
  if (!t.restart_broker) GTEST_SKIP() << "target cannot restart its broker (in-process or no restart hook)";
  auto q = declare_unique();
  ASSERT_TRUE(q);
  Collector got;
  Consumer c(*q, got, nullptr, 10);
  ASSERT_TRUE(c.ok()) << describe(c.status());
  std::set<std::string> sent;
  for (int i = 0; i < 50; ++i) {
    std::string id = "before" + std::to_string(i);
    sent.insert(id);
    ASSERT_EQ(q->publish_retrying(make_message(id, "x")), QPLUG_OK);
  }
  ASSERT_TRUE(got.wait_until([](const auto& v) { return has_all(v, 50); }));
  ASSERT_TRUE(t.restart_broker()) << "restart hook failed";
  for (int i = 0; i < 50; ++i) {
    std::string id = "after" + std::to_string(i);
    sent.insert(id);
    ASSERT_EQ(q->publish_retrying(make_message(id, "x")), QPLUG_OK) << "publish after restart";
  }
  ASSERT_TRUE(got.wait_until([&](const auto& v) { return has_all(v, sent.size()); }))
      << "consumer did not resume after the restart: " << got.count() << " of " << sent.size();
}

// sdk/validate.hpp is the one rule set: every driver refuses the same
// messages (INVALID, naming the field) and accepts the same ones, so moving a
// queue between brokers never starts refusing (or silently changing) them.
// The limits are the tightest common broker rule: AMQP's 255-byte shortstr.
TEST_F(Full, EveryDriverChecksMessagesByTheOneRuleSet) {
  auto q = declare_unique();
  ASSERT_TRUE(q);
  struct Case {
    const char* what;  // also a word the error must name
    std::function<void(sdk::OwnedMessage&)> spoil;
  };
  const std::vector<Case> bad = {
      {"id", [](sdk::OwnedMessage& m) { m.id = std::string(256, 'i'); }},
      {"content_type", [](sdk::OwnedMessage& m) { m.content_type = std::string(256, 'c'); }},
      {"max_header_key_bytes", [](sdk::OwnedMessage& m) { add_header(m, std::string(256, 'k'), QPLUG_VALUE_BOOL, 1); }},
      {"priority", [](sdk::OwnedMessage& m) { add_header(m, "priority", QPLUG_VALUE_STRING, 0, 0, "urgent"); }},
      {"delay", [](sdk::OwnedMessage& m) { add_header(m, "delay", QPLUG_VALUE_STRING, 0, 0, "soon"); }},
      {"ttl", [](sdk::OwnedMessage& m) { add_header(m, "ttl", QPLUG_VALUE_INT64, -1); }},
      {"ttl", [](sdk::OwnedMessage& m) { add_header(m, "ttl", QPLUG_VALUE_STRING, 0, 0, "later"); }},
  };
  for (const Case& c : bad) {
    sdk::OwnedMessage m = make_message("bad", "x");
    c.spoil(m);
    qplug_status st = sdk::make_status();
    EXPECT_EQ(q->publish(m, &st), QPLUG_INVALID) << c.what << ": " << describe(st);
    EXPECT_EQ(st.flags & QPLUG_STATUS_RETRYABLE, 0u) << c.what;
    EXPECT_NE(std::string(st.message).find(c.what), std::string::npos) << c.what << ": " << describe(st);
  }
  // Right at the limits: accepted and delivered intact.
  sdk::OwnedMessage edge = make_message(std::string(255, 'i'), "edge", std::string(255, 'c'));
  add_header(edge, std::string(255, 'k'), QPLUG_VALUE_STRING, 0, 0, "v");
  add_header(edge, "ttl", QPLUG_VALUE_STRING, 0, 0, "1h");
  qplug_status st = sdk::make_status();
  ASSERT_EQ(q->publish(edge, &st), QPLUG_OK) << describe(st);
  Collector got;
  Consumer c(*q, got, [](const Received&) { return QPLUG_ACK; });
  ASSERT_TRUE(c.ok()) << describe(c.status());
  ASSERT_TRUE(got.wait_for(1));
  const auto all = got.snapshot();
  ASSERT_EQ(all.size(), 1u) << "a refused message was published anyway";
  EXPECT_EQ(all[0].message.id, edge.id);
  EXPECT_EQ(all[0].message.content_type, edge.content_type);
  bool key_kept = false;
  for (const auto& h : all[0].message.headers) key_kept |= h.key == std::string(255, 'k') && h.data == "v";
  EXPECT_TRUE(key_kept) << "the 255-byte header key did not arrive";
}

// publish_timeout resolution is the SDK's (sdk/publish_timeout.hpp): a huge
// timeout means "wait as long as it takes", so now + timeout must saturate,
// never overflow into a deadline in the past that fails the publish at once.
TEST_F(Full, HugePublishTimeoutWaitsInsteadOfFailingAtOnce) {
  auto q = declare_unique();
  ASSERT_TRUE(q);
  for (int64_t timeout_ms : {INT64_MAX, INT64_MAX / 1000, int64_t{1} << 53}) {
    qplug_status st = sdk::make_status();
    EXPECT_EQ(q->publish(make_message('t' + std::to_string(timeout_ms), "x"), &st, timeout_ms), QPLUG_OK)
        << "timeout_ms " << timeout_ms << ": " << describe(st);
  }
  Collector got;
  Consumer c(*q, got, [](const Received&) { return QPLUG_ACK; });
  ASSERT_TRUE(c.ok()) << describe(c.status());
  EXPECT_TRUE(got.wait_for(3)) << got.count() << " of 3 delivered";
}

}  // namespace
}  // namespace qplug::conformance
