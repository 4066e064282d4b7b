// tests/drivers/memory_driver_test.cpp -- what the memory driver promises on
// top of the conformance suite, under contention: publishers hand messages
// over through a lock-free inbox and get acked blocks back in chains, so these
// tests hammer exactly those hand-offs with tiny bounds (every publisher keeps
// hitting max_length and sleeping) and check that nothing is lost, duplicated
// or reordered, and that the bound and its FULL error still hold.
#include <gtest/gtest.h>
#include <qplug/driver.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <qplug/loader.hpp>
#include <qplug/sdk/message.hpp>
#include <qplug/sdk/status.hpp>
#include <qplug/sdk/versioned.hpp>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
constexpr auto kDeadline = 60s;  // a bound for every wait, never an expected duration

const qplug_driver_v1* vt() {
  static const qplug_driver_v1* v = [] {
    std::string error;
    const qplug::loader::Plugin* p = qplug::loader::load_driver("memory", qplug::loader::search_dirs(), &error);
    EXPECT_NE(p, nullptr) << error;
    return p != nullptr ? p->vtable : nullptr;
  }();
  return v;
}

// One driver instance and one queue with the given options.
class MemoryQueue {
 public:
  explicit MemoryQueue(std::vector<std::pair<std::string, std::string>> options) : options_(std::move(options)) {
    qplug_status st = qplug::sdk::make_status();
    drv_ = vt()->open(nullptr, nullptr, 0, &st);
    EXPECT_NE(drv_, nullptr) << st.message;
    std::vector<qplug_kv> kv;
    for (auto& [k, v] : options_) kv.push_back({{k.data(), k.size()}, {v.data(), v.size()}});
    q_ = vt()->declare(drv_, {"stress", 6}, kv.data(), kv.size(), &st);
    EXPECT_NE(q_, nullptr) << st.message;
  }
  ~MemoryQueue() {
    if (drv_ != nullptr) vt()->close(drv_, 1000);
  }
  qplug_queue* q() const { return q_; }

  qplug_queue_info info() const {
    auto i = qplug::sdk::versioned<qplug_queue_info>();
    qplug_status st = qplug::sdk::make_status();
    EXPECT_EQ(vt()->queue_info(q_, &i, &st), QPLUG_OK) << st.message;
    return i;
  }

 private:
  std::vector<std::pair<std::string, std::string>> options_;
  qplug_driver* drv_ = nullptr;
  qplug_queue* q_ = nullptr;
};

qplug::sdk::OwnedMessage message(const std::string& id) {
  qplug::sdk::OwnedMessage m;
  m.id = id;
  m.body = id + "-body";
  m.content_type = "text/plain";
  return m;
}

// Publishes `ids` in batches of up to `batch`, retrying only FULL, in order.
void publish_all(qplug_queue* q, const std::vector<std::string>& ids, size_t batch) {
  std::vector<qplug::sdk::OwnedMessage> owned;
  for (const auto& id : ids) owned.push_back(message(id));
  size_t next = 0;
  while (next < owned.size()) {
    std::vector<const qplug_message*> ptrs;
    for (size_t i = next; i < owned.size() && ptrs.size() < batch; ++i) ptrs.push_back(&owned[i].view());
    size_t accepted = 0;
    qplug_status st = qplug::sdk::make_status();
    int32_t rc = vt()->publish(q, ptrs.data(), ptrs.size(), nullptr, nullptr, nullptr, &accepted, &st);
    ASSERT_TRUE(rc == QPLUG_OK || rc == QPLUG_FULL) << st.message;
    next += accepted;  // a FULL after a partial batch: the rest is retried, in order
  }
}

// Records deliveries; settles each one inline with what `decide` says.
struct Sink {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<int, std::string>> acked;  // (consumer, id) in ack order per consumer
  std::map<std::string, int> deliveries;           // id -> times delivered
  size_t settle_errors = 0;
  std::function<int32_t(const qplug_message&)> decide = [](const qplug_message&) { return QPLUG_ACK; };

  bool wait_acked(size_t n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, kDeadline, [&] { return acked.size() >= n; });
  }
};

struct Subscriber {
  Sink* sink;
  int index;
  qplug_consumer* consumer = nullptr;

  static void on_delivery(void* ud, qplug_delivery* d, const qplug_message* m) {
    auto* self = static_cast<Subscriber*>(ud);
    std::string id(m->id.ptr, m->id.len);
    int32_t disposition = self->sink->decide(*m);
    {
      std::lock_guard lock(self->sink->mu);
      ++self->sink->deliveries[id];
      if (disposition == QPLUG_ACK) self->sink->acked.emplace_back(self->index, id);
    }
    qplug_status st = qplug::sdk::make_status();
    if (vt()->settle(d, disposition, &st) != QPLUG_OK) {
      std::lock_guard lock(self->sink->mu);
      ++self->sink->settle_errors;
    }
    self->sink->cv.notify_all();
  }

  Subscriber(qplug_queue* q, Sink* s, int i, uint32_t prefetch) : sink(s), index(i) {
    auto so = qplug::sdk::versioned<qplug_subscribe_options>();
    so.prefetch = prefetch;
    qplug_status st = qplug::sdk::make_status();
    consumer = vt()->subscribe(q, &so, on_delivery, this, &st);
    EXPECT_NE(consumer, nullptr) << st.message;
  }
  ~Subscriber() { stop(); }
  void stop() {
    if (consumer == nullptr) return;
    qplug_status st = qplug::sdk::make_status();
    EXPECT_EQ(vt()->unsubscribe(consumer, &st), QPLUG_OK) << st.message;
    vt()->consumer_free(consumer);
    consumer = nullptr;
  }
};

std::vector<std::string> ids_of(int publisher, int count) {
  std::vector<std::string> ids;
  for (int i = 0; i < count; ++i) ids.push_back('p' + std::to_string(publisher) + "-" + std::to_string(i));
  return ids;
}

// "p3-17" -> (3, 17)
std::pair<int, int> parse_id(const std::string& id) {
  size_t dash = id.find('-');
  return {std::stoi(id.substr(1, dash - 1)), std::stoi(id.substr(dash + 1))};
}

// One consumer sees every publisher's messages in that publisher's order,
// while four publishers with mixed batch sizes keep a 16-slot queue full.
TEST(MemoryDriverStress, OneConsumerSeesEachPublishersOrderUnderBackpressure) {
  MemoryQueue mq({{"max_length", "16"}, {"publish_timeout_ms", "60000"}});
  ASSERT_NE(mq.q(), nullptr);
  constexpr int kPublishers = 4, kEach = 20000;
  Sink sink;
  Subscriber sub(mq.q(), &sink, 0, 8);
  std::vector<std::thread> pubs;
  for (int p = 0; p < kPublishers; ++p)
    pubs.emplace_back([&, p] { publish_all(mq.q(), ids_of(p, kEach), p % 2 == 0 ? 1 : 7 + p); });
  for (auto& t : pubs) t.join();
  ASSERT_TRUE(sink.wait_acked(kPublishers * kEach)) << "acked " << sink.acked.size();
  sub.stop();

  std::lock_guard lock(sink.mu);
  EXPECT_EQ(sink.acked.size(), static_cast<size_t>(kPublishers * kEach));
  EXPECT_EQ(sink.settle_errors, 0u);
  std::vector<int> next(kPublishers, 0);
  for (const auto& [consumer, id] : sink.acked) {
    auto [p, seq] = parse_id(id);
    ASSERT_EQ(seq, next[p]) << "publisher " << p << " out of order at " << id;
    ++next[p];
  }
  EXPECT_EQ(mq.info().messages, 0);
  EXPECT_EQ(mq.info().in_flight, 0);
}

// Many publishers, many consumers, a tiny bound and a nack on every fifth
// first delivery: every message is acked exactly once, none is left over.
TEST(MemoryDriverStress, ManyToManyWithNacksLosesAndDuplicatesNothing) {
  MemoryQueue mq({{"max_length", "32"}, {"publish_timeout_ms", "60000"}});
  ASSERT_NE(mq.q(), nullptr);
  constexpr int kPublishers = 4, kConsumers = 3, kEach = 15000;
  Sink sink;
  sink.decide = [](const qplug_message& m) {
    std::string id(m.id.ptr, m.id.len);
    return m.attempts == 1 && parse_id(id).second % 5 == 0 ? QPLUG_NACK_REQUEUE : QPLUG_ACK;
  };
  std::vector<std::unique_ptr<Subscriber>> subs;
  for (int c = 0; c < kConsumers; ++c) subs.push_back(std::make_unique<Subscriber>(mq.q(), &sink, c, 4 + 4 * c));
  std::vector<std::thread> pubs;
  for (int p = 0; p < kPublishers; ++p) pubs.emplace_back([&, p] { publish_all(mq.q(), ids_of(p, kEach), 1 + p * 5); });
  for (auto& t : pubs) t.join();
  ASSERT_TRUE(sink.wait_acked(kPublishers * kEach)) << "acked " << sink.acked.size();
  for (auto& s : subs) s->stop();

  std::lock_guard lock(sink.mu);
  std::map<std::string, int> acks;
  for (const auto& [consumer, id] : sink.acked) ++acks[id];
  EXPECT_EQ(acks.size(), static_cast<size_t>(kPublishers * kEach));
  for (const auto& [id, n] : acks) ASSERT_EQ(n, 1) << id << " acked " << n << " times";
  for (const auto& [id, n] : sink.deliveries) ASSERT_EQ(n, parse_id(id).second % 5 == 0 ? 2 : 1) << id;
  EXPECT_EQ(sink.settle_errors, 0u);
  EXPECT_EQ(mq.info().messages, 0);
  EXPECT_EQ(mq.info().in_flight, 0);
}

// The bound holds exactly: a full queue answers a retryable FULL naming the
// queue, after accepting exactly the prefix that fit.
TEST(MemoryDriverStress, FullQueueAcceptsThePrefixThatFitsThenFailsRetryable) {
  MemoryQueue mq({{"max_length", "3"}, {"publish_timeout_ms", "20"}});
  ASSERT_NE(mq.q(), nullptr);
  std::vector<qplug::sdk::OwnedMessage> owned;
  for (int i = 0; i < 5; ++i) owned.push_back(message('m' + std::to_string(i)));
  std::vector<const qplug_message*> ptrs;
  for (auto& m : owned) ptrs.push_back(&m.view());
  size_t accepted = 99;
  qplug_status st = qplug::sdk::make_status();
  EXPECT_EQ(vt()->publish(mq.q(), ptrs.data(), ptrs.size(), nullptr, nullptr, nullptr, &accepted, &st), QPLUG_FULL);
  EXPECT_EQ(accepted, 3u);
  EXPECT_NE(st.flags & QPLUG_STATUS_RETRYABLE, 0u);
  EXPECT_NE(std::string(st.message).find("'stress'"), std::string::npos) << st.message;
  EXPECT_EQ(mq.info().messages, 3);

  Sink sink;
  Subscriber sub(mq.q(), &sink, 0, 10);
  ASSERT_TRUE(sink.wait_acked(3));
  std::lock_guard lock(sink.mu);
  ASSERT_EQ(sink.acked.size(), 3u);
  EXPECT_EQ(sink.acked[0].second, "m0");
  EXPECT_EQ(sink.acked[2].second, "m2");
}

// A publisher asleep on a full queue is woken by the consumer that makes
// room, well before its (long) timeout.
TEST(MemoryDriverStress, PublisherWaitingForRoomIsWokenWhenAConsumerTakesMessages) {
  MemoryQueue mq({{"max_length", "1"}, {"publish_timeout_ms", "60000"}});
  ASSERT_NE(mq.q(), nullptr);
  publish_all(mq.q(), {"first"}, 1);
  std::atomic<bool> second_done{false};
  std::thread blocked([&] {
    publish_all(mq.q(), {"second"}, 1);
    second_done = true;
  });
  std::this_thread::sleep_for(50ms);  // let it reach the wait (it passes either way)
  Sink sink;
  Subscriber sub(mq.q(), &sink, 0, 10);
  ASSERT_TRUE(sink.wait_acked(2));
  blocked.join();
  EXPECT_TRUE(second_done.load());
  std::lock_guard lock(sink.mu);
  EXPECT_EQ(sink.acked[0].second, "first");
  EXPECT_EQ(sink.acked[1].second, "second");
}

// Big bodies travel intact next to small ones (blocks are reused only when
// they fit, and big blocks are not kept), checked byte for byte.
TEST(MemoryDriverStress, MixedSizesKeepEveryByte) {
  MemoryQueue mq({{"max_length", "8"}, {"publish_timeout_ms", "60000"}});
  ASSERT_NE(mq.q(), nullptr);
  constexpr int kCount = 400;
  std::atomic<int> bad{0}, seen{0};
  Sink sink;
  sink.decide = [&](const qplug_message& m) {
    std::string id(m.id.ptr, m.id.len);
    int i = parse_id(id).second;
    std::string expect(static_cast<size_t>(i % 4 == 0 ? 100000 + i : 10 + i), static_cast<char>('a' + i % 26));
    if (std::string(reinterpret_cast<const char*>(m.body.ptr), m.body.len) != expect) bad.fetch_add(1);
    seen.fetch_add(1);
    return QPLUG_ACK;
  };
  Subscriber sub(mq.q(), &sink, 0, 4);
  for (int i = 0; i < kCount; ++i) {
    qplug::sdk::OwnedMessage m;
    m.id = "p0-" + std::to_string(i);
    m.body = std::string(static_cast<size_t>(i % 4 == 0 ? 100000 + i : 10 + i), static_cast<char>('a' + i % 26));
    const qplug_message* one = &m.view();
    size_t accepted = 0;
    qplug_status st = qplug::sdk::make_status();
    ASSERT_EQ(vt()->publish(mq.q(), &one, 1, nullptr, nullptr, nullptr, &accepted, &st), QPLUG_OK) << st.message;
  }
  ASSERT_TRUE(sink.wait_acked(kCount));
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(seen.load(), kCount);
}

// Every field length from 0 to 70 bytes (the copy has separate paths for
// 0-3, 4-7, 8-15, 16-32 and longer) comes back byte for byte, in the id, the
// content type, the body, a header key and string/bytes header values.
TEST(MemoryDriverStress, EveryShortFieldLengthSurvivesByteForByte) {
  MemoryQueue mq({{"max_length", "200"}, {"publish_timeout_ms", "1000"}});
  ASSERT_NE(mq.q(), nullptr);
  constexpr int kMaxLen = 70;
  auto text = [](int len, int salt) {
    std::string out;
    for (int k = 0; k < len; ++k) out += static_cast<char>('!' + (k * 7 + salt) % 90);
    return out;
  };
  std::vector<qplug::sdk::OwnedMessage> sent;
  for (int len = 0; len <= kMaxLen; ++len) {
    qplug::sdk::OwnedMessage m;
    m.id = text(len, 1);
    m.content_type = text(len, 2);
    m.body = text(len, 3);
    m.headers.push_back({"k" + text(len, 4), QPLUG_VALUE_STRING, 0, 0, text(len, 5)});
    m.headers.push_back({"b", QPLUG_VALUE_BYTES, 0, 0, text(len, 6)});
    sent.push_back(std::move(m));
  }
  for (auto& m : sent) {
    const qplug_message* one = &m.view();
    size_t accepted = 0;
    qplug_status st = qplug::sdk::make_status();
    ASSERT_EQ(vt()->publish(mq.q(), &one, 1, nullptr, nullptr, nullptr, &accepted, &st), QPLUG_OK) << st.message;
  }
  std::mutex mu;
  std::vector<qplug::sdk::OwnedMessage> got;
  Sink sink;
  sink.decide = [&](const qplug_message& m) {
    std::lock_guard lock(mu);
    got.emplace_back(m);
    return QPLUG_ACK;
  };
  Subscriber sub(mq.q(), &sink, 0, 16);
  ASSERT_TRUE(sink.wait_acked(sent.size()));
  std::lock_guard lock(mu);
  ASSERT_EQ(got.size(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ(got[i].id, sent[i].id) << "length " << i;
    EXPECT_EQ(got[i].content_type, sent[i].content_type) << "length " << i;
    EXPECT_EQ(got[i].body, sent[i].body) << "length " << i;
    ASSERT_EQ(got[i].headers.size(), 2u);
    EXPECT_EQ(got[i].headers[0].key, sent[i].headers[0].key) << "length " << i;
    EXPECT_EQ(got[i].headers[0].data, sent[i].headers[0].data) << "length " << i;
    EXPECT_EQ(got[i].headers[1].type, QPLUG_VALUE_BYTES);
    EXPECT_EQ(got[i].headers[1].data, sent[i].headers[1].data) << "length " << i;
  }
}

}  // namespace
