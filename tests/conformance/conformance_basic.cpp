// tests/conformance/conformance_basic.cpp -- the basic part of the ONE
// conformance suite: what every driver, including an out-of-tree one, must do.
#include <map>
#include <qplug/sdk/versioned.hpp>
#include <set>
#include <thread>

#include "conformance_harness.hpp"

namespace qplug::conformance {
namespace {

using Basic = ConformanceTest;

// The typed headers every round trip must preserve (also empty and binary values).
sdk::OwnedMessage typed_message(int i) {
  std::string body(64 + i % 7, '\0');
  for (size_t b = 0; b < body.size(); ++b) body[b] = static_cast<char>((i * 31 + b) & 0xff);  // binary, NULs included
  sdk::OwnedMessage m = make_message("conf-" + std::to_string(i), body, i % 2 ? "application/json" : "text/plain");
  add_header(m, "s", QPLUG_VALUE_STRING, 0, 0, "value-" + std::to_string(i));
  add_header(m, "empty", QPLUG_VALUE_STRING, 0, 0, "");
  add_header(m, "i", QPLUG_VALUE_INT64, -1234567890123LL * (i + 1));
  add_header(m, "d", QPLUG_VALUE_DOUBLE, 0, 0.25 + i);
  add_header(m, "b", QPLUG_VALUE_BOOL, i % 2);
  add_header(m, "raw", QPLUG_VALUE_BYTES, 0, 0, std::string("\x00\xff\x01\x80", 4) + std::to_string(i));
  return m;
}

const sdk::OwnedHeader* find_header(const sdk::OwnedMessage& m, const std::string& key) {
  for (const auto& h : m.headers)
    if (h.key == key) return &h;
  return nullptr;
}

// Compares what came back with what was sent. Drivers may add headers of their own.
void expect_same(const sdk::OwnedMessage& sent, const sdk::OwnedMessage& got, bool types_survive) {
  EXPECT_EQ(got.id, sent.id);
  EXPECT_EQ(got.body, sent.body) << "body of " << sent.id;
  EXPECT_EQ(got.content_type, sent.content_type) << "content type of " << sent.id;
  for (const auto& h : sent.headers) {
    const sdk::OwnedHeader* g = find_header(got, h.key);
    ASSERT_NE(g, nullptr) << "header '" << h.key << "' of " << sent.id << " lost";
    if (!types_survive) continue;
    EXPECT_EQ(g->type, h.type) << "type of header '" << h.key << "' of " << sent.id;
    switch (h.type) {
      case QPLUG_VALUE_BOOL:
      case QPLUG_VALUE_INT64:
        EXPECT_EQ(g->i64, h.i64) << h.key;
        break;
      case QPLUG_VALUE_DOUBLE:
        EXPECT_EQ(g->f64, h.f64) << h.key;
        break;
      default:
        EXPECT_EQ(g->data, h.data) << h.key;
        break;
    }
  }
}

TEST_F(Basic, PublishConsumeOne) {
  auto q = declare_unique();
  ASSERT_TRUE(q);
  Collector got;
  Consumer c(*q, got, nullptr);
  ASSERT_TRUE(c.ok()) << describe(c.status());
  qplug_status st = sdk::make_status();
  ASSERT_EQ(q->publish(make_message("one", "hello"), &st), QPLUG_OK) << describe(st);
  ASSERT_TRUE(got.wait_for(1)) << "no delivery within the deadline";
  auto r = got.snapshot();
  EXPECT_EQ(r[0].message.id, "one");
  EXPECT_EQ(r[0].message.body, "hello");
  EXPECT_EQ(r[0].message.attempts, 1u) << "first delivery counts as attempt 1";
}

// The neutral keys a driver maps to native features come back as the same
// headers, also at lengths a native field cannot hold (AMQP's reply_to is a
// 255-byte short string: a longer one travels in the headers table; found by
// the amqp_headers fuzzer, tests/fuzz/corpus/amqp_headers_fuzz/regress-long-reply-to.bin).
TEST_F(Basic, NeutralHeadersComeBackAtAnyLength) {
  auto q = declare_unique();
  ASSERT_TRUE(q);
  Collector got;
  Consumer c(*q, got, nullptr);
  ASSERT_TRUE(c.ok()) << describe(c.status());
  std::vector<sdk::OwnedMessage> sent;
  for (size_t len : {size_t{12}, size_t{300}}) {
    auto m = make_message("neutral-" + std::to_string(len), "x");
    for (const char* key : {"reply_to", "correlation_id", "message_type"})
      add_header(m, key, QPLUG_VALUE_STRING, 0, 0, std::string(len, key[0]));
    qplug_status st = sdk::make_status();
    ASSERT_EQ(q->publish(m, &st), QPLUG_OK) << describe(st);
    sent.push_back(std::move(m));
  }
  ASSERT_TRUE(got.wait_for(2)) << "got " << got.count();
  for (const auto& r : got.snapshot())
    for (const auto& m : sent)
      if (m.id == r.message.id) expect_same(m, r.message, true);
}

TEST_F(Basic, ThousandMessagesKeepPayloadIdContentTypeAndHeaderTypes) {
  auto q = declare_unique();
  ASSERT_TRUE(q);
  constexpr int kCount = 1000;
  std::vector<sdk::OwnedMessage> sent;
  for (int i = 0; i < kCount; ++i) sent.push_back(typed_message(i));
  Collector got;
  Consumer c(*q, got, nullptr);
  ASSERT_TRUE(c.ok()) << describe(c.status());
  for (const auto& m : sent) {
    qplug_status st = sdk::make_status();
    ASSERT_EQ(q->publish(m, &st), QPLUG_OK) << describe(st);
  }
  ASSERT_TRUE(got.wait_for(kCount)) << "got " << got.count() << " of " << kCount;
  auto r = got.snapshot();
  std::map<std::string, const sdk::OwnedMessage*> by_id;
  for (const auto& x : r) by_id[x.message.id] = &x.message;
  EXPECT_EQ(by_id.size(), static_cast<size_t>(kCount));
  bool types = has_cap(QPLUG_CAP_HEADER_TYPES);
  for (const auto& m : sent) {
    auto it = by_id.find(m.id);
    ASSERT_NE(it, by_id.end()) << m.id << " lost";
    expect_same(m, *it->second, types);
  }
  if (has_cap(QPLUG_CAP_ORDERED)) {
    for (int i = 0; i < kCount; ++i) ASSERT_EQ(r[i].message.id, sent[i].id) << "ORDERED driver reordered";
  }
}

TEST_F(Basic, BatchPublishKeepsOrderAndCount) {
  auto q = declare_unique();
  ASSERT_TRUE(q);
  std::vector<sdk::OwnedMessage> batch;
  for (int i = 0; i < 50; ++i) batch.push_back(typed_message(i));
  size_t accepted = 0;
  qplug_status st = sdk::make_status();
  ASSERT_EQ(q->publish_batch(batch, &accepted, &st), QPLUG_OK) << describe(st);
  EXPECT_EQ(accepted, batch.size());
  Collector got;
  Consumer c(*q, got, nullptr);
  ASSERT_TRUE(got.wait_for(batch.size()));
  auto r = got.snapshot();
  std::set<std::string> ids;
  for (const auto& x : r) ids.insert(x.message.id);
  EXPECT_EQ(ids.size(), batch.size());
  if (has_cap(QPLUG_CAP_ORDERED)) {
    for (size_t i = 0; i < batch.size(); ++i) EXPECT_EQ(r[i].message.id, batch[i].id);
  }
}

TEST_F(Basic, NackRedeliversWithAttemptsPlusOne) {
  if (!has_cap(QPLUG_CAP_NACK_REQUEUE)) GTEST_SKIP() << "driver lacks NACK_REQUEUE";
  auto q = declare_unique();
  ASSERT_TRUE(q);
  Collector got;
  // Nack the first two deliveries, ack the third.
  Consumer c(*q, got, [](const Received& r) { return r.message.attempts < 3 ? QPLUG_NACK_REQUEUE : QPLUG_ACK; });
  ASSERT_TRUE(c.ok()) << describe(c.status());
  ASSERT_EQ(q->publish(make_message("nacked", "x")), QPLUG_OK);
  ASSERT_TRUE(got.wait_for(3)) << "got " << got.count() << " deliveries, wanted 3 (two nacks, one ack)";
  auto r = got.snapshot();
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(r[i].message.id, "nacked");
    if (has_cap(QPLUG_CAP_DELIVERY_COUNT)) {
      EXPECT_EQ(r[i].message.attempts, i + 1) << "delivery #" << i;
    }
  }
  quiet_period();
  EXPECT_EQ(got.count(), 3u) << "acked message delivered again";
}

TEST_F(Basic, RejectDropsTheMessage) {
  auto q = declare_unique();
  ASSERT_TRUE(q);
  Collector got;
  Consumer c(*q, got, [](const Received&) { return QPLUG_REJECT; });
  ASSERT_EQ(q->publish(make_message("rejected", "x")), QPLUG_OK);
  ASSERT_TRUE(got.wait_for(1));
  quiet_period();
  EXPECT_EQ(got.count(), 1u) << "rejected message came back";
}

TEST_F(Basic, UnsubscribeIsQuiescentAndIdempotent) {
  auto q = declare_unique();
  ASSERT_TRUE(q);
  constexpr int kCount = 500;
  for (int i = 0; i < kCount; ++i) ASSERT_EQ(q->publish(make_message('u' + std::to_string(i), "x")), QPLUG_OK);
  Collector got;
  auto c = std::make_unique<Consumer>(*q, got, nullptr, 1);
  ASSERT_TRUE(c->ok()) << describe(c->status());
  ASSERT_TRUE(got.wait_for(10));
  qplug_status st = sdk::make_status();
  ASSERT_EQ(c->unsubscribe(&st), QPLUG_OK) << describe(st);
  EXPECT_EQ(got.callbacks_running.load(), 0) << "a callback still runs after unsubscribe returned";
  size_t at_return = got.callbacks_total.load();
  EXPECT_EQ(c->unsubscribe(&st), QPLUG_OK) << "second unsubscribe: " << describe(st);
  quiet_period();
  EXPECT_EQ(got.callbacks_total.load(), at_return) << "callbacks after unsubscribe returned";
  c.reset();

  // Nothing was lost: a new consumer gets the rest.
  Collector rest;
  Consumer c2(*q, rest, nullptr);
  std::set<std::string> ids;
  for (const auto& r : got.snapshot()) ids.insert(r.message.id);
  ASSERT_TRUE(rest.wait_until([&](const std::vector<Received>& v) {
    std::set<std::string> all = ids;
    for (const auto& r : v) all.insert(r.message.id);
    return all.size() == static_cast<size_t>(kCount);
  })) << "messages lost across unsubscribe";
}

TEST_F(Basic, SettleFromAnotherThread) {
  auto q = declare_unique();
  ASSERT_TRUE(q);
  Collector got;
  Consumer c(
      *q, got, [](const Received&) { return kHold; }, 10);
  ASSERT_TRUE(c.ok()) << describe(c.status());
  for (int i = 0; i < 5; ++i) ASSERT_EQ(q->publish(make_message('t' + std::to_string(i), "x")), QPLUG_OK);
  ASSERT_TRUE(got.wait_for(5));
  std::vector<int32_t> codes;
  std::thread settler([&] { codes = got.settle_held(QPLUG_ACK); });
  settler.join();
  ASSERT_EQ(codes.size(), 5u);
  for (int32_t rc : codes) EXPECT_EQ(rc, QPLUG_OK);
  quiet_period();
  EXPECT_EQ(got.count(), 5u) << "acked messages delivered again";
  if (has_cap(QPLUG_CAP_QUEUE_INFO) && vt_->queue_info != nullptr) {
    auto info = qplug::sdk::versioned<qplug_queue_info>();
    qplug_status st = sdk::make_status();
    ASSERT_EQ(vt_->queue_info(q->handle, &info, &st), QPLUG_OK) << describe(st);
    if (info.messages >= 0) {
      EXPECT_EQ(info.messages, 0);
    }
    if (info.in_flight >= 0) {
      EXPECT_EQ(info.in_flight, 0);
    }
    if (info.consumers >= 0) {
      EXPECT_EQ(info.consumers, 1);
    }
  }
}

// A host that keeps every prefetched delivery and frees one slot at a time
// must still get everything: a driver that waits for "enough" room before
// delivering again must not stall on single settles.
TEST_F(Basic, HostSettlingOneAtATimeAtFullPrefetchGetsEverything) {
  auto q = declare_unique();
  ASSERT_TRUE(q);
  constexpr uint32_t kPrefetch = 4;
  constexpr size_t kMessages = 20;
  Collector got;
  Consumer c(
      *q, got, [](const Received&) { return kHold; }, kPrefetch);
  ASSERT_TRUE(c.ok()) << describe(c.status());
  for (size_t i = 0; i < kMessages; ++i) ASSERT_EQ(q->publish(make_message('h' + std::to_string(i), "x")), QPLUG_OK);
  for (size_t i = 0; i < kMessages; ++i) {
    ASSERT_TRUE(got.wait_for(i + 1)) << "delivery " << i + 1 << " never came while " << got.outstanding()
                                     << " deliveries were held";
    ASSERT_EQ(got.settle(i, QPLUG_ACK), QPLUG_OK);
  }
  EXPECT_LE(got.max_outstanding(), kPrefetch);
  quiet_period();
  EXPECT_EQ(got.count(), kMessages) << "acked messages delivered again";
}

TEST_F(Basic, UnknownConfigKeyIsInvalidAndNamed) {
  Driver d;
  qplug_status st = sdk::make_status();
  ASSERT_EQ(d.open({{"no_such_key_xyz", "1"}}, &st), QPLUG_INVALID) << describe(st);
  EXPECT_NE(std::string(st.message).find("no_such_key_xyz"), std::string::npos) << st.message;
  EXPECT_FALSE(st.flags & QPLUG_STATUS_RETRYABLE);
}

TEST_F(Basic, UnknownQueueOptionIsInvalidAndNamed) {
  qplug_status st = sdk::make_status();
  EXPECT_EQ(driver_.declare(unique_name(), {{"no_such_option_xyz", "1"}}, &st), nullptr);
  EXPECT_EQ(st.code, QPLUG_INVALID) << describe(st);
  EXPECT_NE(std::string(st.message).find("no_such_option_xyz"), std::string::npos) << st.message;
}

TEST_F(Basic, EmptyQueueNameIsInvalid) {
  qplug_status st = sdk::make_status();
  EXPECT_EQ(driver_.declare("", {}, &st), nullptr);
  EXPECT_EQ(st.code, QPLUG_INVALID) << describe(st);
}

TEST_F(Basic, DeclareTwiceSharesTheQueue) {
  std::string name = unique_name();
  auto a = driver_.declare(name);
  auto b = driver_.declare(name);
  ASSERT_TRUE(a && b);
  Collector got;
  Consumer c(*b, got, nullptr);
  ASSERT_EQ(a->publish(make_message("shared", "x")), QPLUG_OK);
  ASSERT_TRUE(got.wait_for(1));
  EXPECT_EQ(got.snapshot()[0].message.id, "shared");
}

TEST_F(Basic, PublishZeroOrNullMessagesIsInvalid) {
  auto q = declare_unique();
  ASSERT_TRUE(q);
  qplug_status st = sdk::make_status();
  size_t accepted = 99;
  sdk::OwnedMessage m = make_message("x", "x");
  const qplug_message* one = &m.view();
  EXPECT_EQ(vt_->publish(q->handle, &one, 0, nullptr, nullptr, nullptr, &accepted, &st), QPLUG_INVALID) << describe(st);
  EXPECT_EQ(accepted, 0u);
  st = sdk::make_status();
  const qplug_message* null_msg = nullptr;
  EXPECT_EQ(vt_->publish(q->handle, &null_msg, 1, nullptr, nullptr, nullptr, &accepted, &st), QPLUG_INVALID)
      << describe(st);
  st = sdk::make_status();
  qplug_message bad = m.view();
  bad.body = {nullptr, 10};
  const qplug_message* badp = &bad;
  EXPECT_EQ(vt_->publish(q->handle, &badp, 1, nullptr, nullptr, nullptr, &accepted, &st), QPLUG_INVALID)
      << describe(st);
}

struct DoneCounter {
  std::mutex mu;
  std::condition_variable cv;
  int calls = 0;
  size_t accepted = 0;
  int32_t code = -1;
};

void count_done(void* ud, const qplug_status* st, size_t accepted) {
  auto* d = static_cast<DoneCounter*>(ud);
  std::lock_guard lock(d->mu);
  ++d->calls;
  d->accepted += accepted;
  d->code = st->code;
  d->cv.notify_all();
}

TEST_F(Basic, AsyncPublishCompletesExactlyOnce) {
  auto q = declare_unique();
  ASSERT_TRUE(q);
  constexpr int kBatches = 20;
  std::vector<DoneCounter> done(kBatches);
  for (int b = 0; b < kBatches; ++b) {
    std::vector<sdk::OwnedMessage> ms;
    for (int i = 0; i < 3; ++i) ms.push_back(make_message('a' + std::to_string(b * 3 + i), "x"));
    std::vector<const qplug_message*> ptrs;
    for (auto& m : ms) ptrs.push_back(&m.view());
    qplug_status st = sdk::make_status();
    ASSERT_EQ(vt_->publish(q->handle, ptrs.data(), ptrs.size(), nullptr, count_done, &done[b], nullptr, &st), QPLUG_OK)
        << describe(st);
  }  // messages destroyed here: the driver must have copied them
  for (auto& d : done) {
    std::unique_lock lock(d.mu);
    ASSERT_TRUE(d.cv.wait_for(lock, kDeadline, [&] { return d.calls > 0; })) << "done never called";
  }
  quiet_period();
  for (auto& d : done) {
    std::lock_guard lock(d.mu);
    EXPECT_EQ(d.calls, 1);
    EXPECT_EQ(d.code, QPLUG_OK);
    EXPECT_EQ(d.accepted, 3u);
  }
  Collector got;
  Consumer c(*q, got, nullptr);
  EXPECT_TRUE(got.wait_for(kBatches * 3)) << "got " << got.count();
}

}  // namespace
}  // namespace qplug::conformance
