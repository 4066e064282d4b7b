// tests/integration/amqp/amqp_integration_test.cpp -- the amqp driver against
// a real rabbitmq-server: a broker restart in the middle of 10k messages
// loses none, and messages cross to and from a client no one here wrote
// (python3-pika, pika_peer.py) with their properties and typed headers, and a
// consumer the broker cancels (its queue deleted) resumes by itself; a
// message whose headers the broker would refuse (bigger than a frame, a key
// over 255 bytes) is INVALID before anything is sent, and the publishes in
// flight beside it on the same connection are not disturbed.
#include <gtest/gtest.h>
#include <qplug/driver.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <qplug/loader.hpp>
#include <qplug/sdk/message.hpp>
#include <qplug/sdk/status.hpp>
#include <qplug/sdk/versioned.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "broker_env.hpp"

namespace {

using qplug::sdk::OwnedMessage;
using qplug::testing::kRabbitmq;
using qplug::testing::run_command;
using qplug::testing::unique_name;

std::string amqp_url() { return qplug::testing::broker_url(kRabbitmq); }

// Debian's python3-pika lives beside /usr/bin/python3 (a pyenv python3
// earlier on PATH would not see it).
std::string python() { return ::access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3"; }

OwnedMessage message(const std::string& id, const std::string& body) {
  OwnedMessage m;
  m.id = id;
  m.body = body;
  m.content_type = "text/plain";
  return m;
}

void add(OwnedMessage& m, const std::string& key, int32_t type, int64_t i64, double f64, const std::string& data) {
  qplug::sdk::OwnedHeader h;
  h.key = key;
  h.type = type;
  h.i64 = i64;
  h.f64 = f64;
  h.data = data;
  m.headers.push_back(h);
}

// Collects deliveries (copied), acking each at once.
struct Sink {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<OwnedMessage> got;
  const qplug_driver_v1* vt = nullptr;
  static void on_delivery(void* ud, qplug_delivery* d, const qplug_message* m) {
    auto* s = static_cast<Sink*>(ud);
    {
      std::lock_guard lock(s->mu);
      s->got.emplace_back(*m);
    }
    qplug_status st = qplug::sdk::make_status();
    s->vt->settle(d, QPLUG_ACK, &st);
    s->cv.notify_all();
  }
  template <typename Pred>
  bool wait(Pred done) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(90), [&] { return done(got); });
  }
};

class AmqpIntegration : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why = qplug::testing::broker_unreachable(kRabbitmq, amqp_url());
    if (!why.empty()) {
      if (qplug::testing::brokers_required()) FAIL() << why;
      GTEST_SKIP() << why;
    }
    std::string err;
    const qplug::loader::Plugin* p = qplug::loader::load_file(QPLUG_AMQP_PLUGIN, &err);
    ASSERT_NE(p, nullptr) << err;
    vt_ = p->vtable;
    sink_.vt = vt_;
    driver_ = open({});
    ASSERT_NE(driver_, nullptr);
  }
  void TearDown() override {
    if (consumer_ != nullptr) {
      qplug_status st = qplug::sdk::make_status();
      vt_->unsubscribe(consumer_, &st);
      vt_->consumer_free(consumer_);
    }
    if (driver_ != nullptr) vt_->close(driver_, 5000);
  }
  qplug_driver* open(std::vector<std::pair<std::string, std::string>> extra, const qplug_host_v1* host = nullptr) {
    std::string url = amqp_url();
    extra.insert(extra.begin(), {"url", url});
    extra.push_back({"reconnect_delay", "100ms"});
    extra.push_back({"reconnect_max_delay", "1s"});
    std::vector<qplug_kv> kv;
    for (auto& [k, v] : extra) kv.push_back({{k.data(), k.size()}, {v.data(), v.size()}});
    qplug_status st = qplug::sdk::make_status();
    qplug_driver* d = vt_->open(host, kv.data(), kv.size(), &st);
    EXPECT_NE(d, nullptr) << st.message;
    return d;
  }
  qplug_queue* declare(const std::string& name) {
    static const std::string k = "queue_expiry", v = "300s";
    qplug_kv opt{{k.data(), k.size()}, {v.data(), v.size()}};
    qplug_status st = qplug::sdk::make_status();
    qplug_queue* q = vt_->declare(driver_, {name.data(), name.size()}, &opt, 1, &st);
    EXPECT_NE(q, nullptr) << st.message;
    return q;
  }
  void subscribe(qplug_queue* q, uint32_t prefetch = 200) {
    auto o = qplug::sdk::versioned<qplug_subscribe_options>();
    o.prefetch = prefetch;
    qplug_status st = qplug::sdk::make_status();
    consumer_ = vt_->subscribe(q, &o, &Sink::on_delivery, &sink_, &st);
    ASSERT_NE(consumer_, nullptr) << st.message;
  }

  const qplug_driver_v1* vt_ = nullptr;
  qplug_driver* driver_ = nullptr;
  qplug_consumer* consumer_ = nullptr;
  Sink sink_;
};

// Publishes 10k persistent messages in batches of 100 while the broker is
// restarted; a batch that fails retryably is published again (at-least-once).
// Every one of the 10k IDs must then be consumed.
TEST_F(AmqpIntegration, BrokerRestartDuringTenThousandMessagesLosesNone) {
  const std::string name = unique_name("restart");
  qplug_queue* q = declare(name);
  ASSERT_NE(q, nullptr);
  constexpr int kTotal = 10000, kBatch = 100;
  std::atomic<int> published{0};
  std::thread restarter([&] {
    while (published.load() < kTotal / 3) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    EXPECT_TRUE(qplug::testing::restart_broker(kRabbitmq)) << "brokers.sh restart rabbitmq failed";
  });
  int retries = 0;
  for (int base = 0; base < kTotal; base += kBatch) {
    std::vector<OwnedMessage> batch;
    for (int i = base; i < base + kBatch; ++i)
      batch.push_back(message('m' + std::to_string(i), "payload " + std::to_string(i)));
    std::vector<const qplug_message*> ptrs;
    for (auto& m : batch) ptrs.push_back(&m.view());
    for (int attempt = 0;; ++attempt) {
      ASSERT_LT(attempt, 200) << "batch at " << base << " never confirmed";
      qplug_status st = qplug::sdk::make_status();
      size_t accepted = 0;
      int32_t rc = vt_->publish(q, ptrs.data(), ptrs.size(), nullptr, nullptr, nullptr, &accepted, &st);
      if (rc == QPLUG_OK) break;
      ASSERT_TRUE(st.flags & QPLUG_STATUS_RETRYABLE) << "non-retryable failure: " << st.message;
      ++retries;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    published.store(base + kBatch);
  }
  restarter.join();
  subscribe(q);
  // The predicate runs under the sink's lock on every delivery: it only
  // looks at what arrived since its last call (rebuilding the whole set each
  // time was quadratic and throttled the consumer it waits for).
  std::set<std::string> ids;
  size_t seen = 0;
  bool all = sink_.wait([&](const std::vector<OwnedMessage>& got) {
    for (; seen < got.size(); ++seen) ids.insert(got[seen].id);
    return ids.size() == static_cast<size_t>(kTotal);
  });
  EXPECT_TRUE(all) << "consumed " << ids.size() << " distinct of " << kTotal << " (publish retries: " << retries << ")";
}

TEST_F(AmqpIntegration, PikaPublishedMessageArrivesWithPropertiesAndTypedHeaders) {
  const std::string name = unique_name("from-pika");
  qplug_queue* q = declare(name);
  ASSERT_NE(q, nullptr);
  std::string out = run_command(python() + " " QPLUG_AMQP_PIKA " publish '" + amqp_url() + "' " + name + " 2>&1");
  ASSERT_EQ(out, "") << "pika publish failed: " << out;
  subscribe(q);
  ASSERT_TRUE(sink_.wait([](const std::vector<OwnedMessage>& got) { return !got.empty(); }));
  const OwnedMessage& m = sink_.got[0];
  EXPECT_EQ(m.id, "pika-1");
  EXPECT_EQ(m.content_type, "application/json");
  EXPECT_EQ(m.body, R"({"hello":"qplug"})");
  EXPECT_EQ(m.attempts, 1u);
  auto find = [&](const std::string& k) -> const qplug::sdk::OwnedHeader* {
    for (const auto& h : m.headers)
      if (h.key == k) return &h;
    return nullptr;
  };
  ASSERT_TRUE(find("correlation_id") && find("reply_to") && find("message_type") && find("s") && find("n") &&
              find("b"));
  EXPECT_EQ(find("correlation_id")->data, "corr-7");
  EXPECT_EQ(find("reply_to")->data, "replies");
  EXPECT_EQ(find("message_type")->data, "greeting");
  EXPECT_EQ(find("s")->type, QPLUG_VALUE_STRING);
  EXPECT_EQ(find("s")->data, "text");
  EXPECT_EQ(find("n")->type, QPLUG_VALUE_INT64);
  EXPECT_EQ(find("n")->i64, 42);
  EXPECT_EQ(find("b")->type, QPLUG_VALUE_BOOL);
  EXPECT_EQ(find("b")->i64, 1);
}

TEST_F(AmqpIntegration, QplugPublishedMessageIsReadByPikaWithPropertiesAndHeaders) {
  const std::string name = unique_name("to-pika");
  qplug_queue* q = declare(name);
  ASSERT_NE(q, nullptr);
  OwnedMessage m = message("qplug-42", "hi pika");
  m.content_type = "application/json";
  add(m, "correlation_id", QPLUG_VALUE_STRING, 0, 0, "corr-9");
  add(m, "priority", QPLUG_VALUE_STRING, 0, 0, "high");
  add(m, "tenant", QPLUG_VALUE_STRING, 0, 0, "acme");
  add(m, "count", QPLUG_VALUE_INT64, 7000000000, 0, "");
  add(m, "ratio", QPLUG_VALUE_DOUBLE, 0, 0.25, "");
  add(m, "flag", QPLUG_VALUE_BOOL, 1, 0, "");
  const qplug_message* p = &m.view();
  qplug_status st = qplug::sdk::make_status();
  ASSERT_EQ(vt_->publish(q, &p, 1, nullptr, nullptr, nullptr, nullptr, &st), QPLUG_OK) << st.message;
  std::string out = run_command(python() + " " QPLUG_AMQP_PIKA " get '" + amqp_url() + "' " + name + " 2>&1");
  EXPECT_NE(out.find(R"("message_id": "qplug-42")"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("content_type": "application/json")"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("correlation_id": "corr-9")"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("delivery_mode": 2)"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("priority": 9)"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("tenant": ["str", "acme"])"), std::string::npos) << out;
  // pika names 64-bit ints "long"; it decodes doubles lossily (to an int),
  // so only the key's presence is checked here (conformance checks types).
  EXPECT_NE(out.find(R"(, 7000000000])"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("ratio": [)"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("flag": ["bool", true])"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("body": "hi pika")"), std::string::npos) << out;
}

// The broker cancels a consumer whose queue is deleted (basic.cancel). The
// driver re-declares the queue and re-subscribes with backoff, so messages
// published afterwards reach the same subscription without any host action.
TEST_F(AmqpIntegration, ConsumerResumesAfterBrokerCancelsItBecauseTheQueueWasDeleted) {
  const std::string name = unique_name("cancelled");
  qplug_queue* q = declare(name);
  ASSERT_NE(q, nullptr);
  subscribe(q);
  auto publish = [&](const std::string& id) {
    OwnedMessage m = message(id, "body of " + id);
    const qplug_message* p = &m.view();
    // Until the queue is back, mandatory publishing answers NOT_FOUND
    // (returned) or a retryable error: try again, bounded.
    for (int attempt = 0; attempt < 300; ++attempt) {
      qplug_status st = qplug::sdk::make_status();
      int32_t rc = vt_->publish(q, &p, 1, nullptr, nullptr, nullptr, nullptr, &st);
      if (rc == QPLUG_OK) return true;
      EXPECT_TRUE(rc == QPLUG_NOT_FOUND || (st.flags & QPLUG_STATUS_RETRYABLE)) << st.message;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  };
  auto has = [](const std::string& id) {
    return [id](const std::vector<OwnedMessage>& got) {
      for (const auto& m : got)
        if (m.id == id) return true;
      return false;
    };
  };
  ASSERT_TRUE(publish("before-delete"));
  ASSERT_TRUE(sink_.wait(has("before-delete")));

  std::string out = run_command(python() + " " QPLUG_AMQP_PIKA " delete '" + amqp_url() + "' " + name + " 2>&1");
  ASSERT_EQ(out, "") << "pika queue.delete failed: " << out;

  ASSERT_TRUE(publish("after-delete")) << "the queue was never declared again";
  ASSERT_TRUE(sink_.wait(has("after-delete"))) << "the consumer did not resume after the broker cancelled it";
  ASSERT_TRUE(publish("after-resume"));
  ASSERT_TRUE(sink_.wait(has("after-resume")));
  std::lock_guard lock(sink_.mu);
  int copies = 0;
  for (const auto& m : sink_.got) copies += m.id == "after-resume" ? 1 : 0;
  EXPECT_EQ(copies, 1) << "a resumed consumer must be subscribed once, not twice";
}

// Counts the driver's warnings (a lost connection, a reconnect).
std::atomic<int> g_warnings{0};
std::mutex g_warning_mu;
std::string g_last_warning;
void count_warning(void*, int32_t level, const char*, const char* msg) {
  if (level < QPLUG_LOG_WARN) return;
  ++g_warnings;
  std::lock_guard lock(g_warning_mu);
  g_last_warning = msg == nullptr ? "" : msg;
}

// Issue 11: a header table bigger than the negotiated frame_max (or a key over
// 255 bytes) made RabbitMQ close the connection: a reconnect storm, the
// publish blocked 30 s and ended UNAVAILABLE, and the neighbours' publishes
// on that connection failed too. Now the driver refuses it as INVALID naming
// the header, before sending, while 4 threads keep publishing on the same
// connection: all of theirs succeed, are consumed, and nothing reconnects.
TEST_F(AmqpIntegration, HeadersTheBrokerWouldRefuseAreInvalidAndDisturbNothing) {
  qplug_host_v1 host{};
  host.struct_size = sizeof host;
  host.abi_major = QPLUG_ABI_MAJOR;
  host.abi_minor = QPLUG_ABI_MINOR;
  host.log = count_warning;
  vt_->close(driver_, 5000);
  driver_ = open({}, &host);
  ASSERT_NE(driver_, nullptr);
  const std::string name = unique_name("bigheaders");
  qplug_queue* q = declare(name);
  ASSERT_NE(q, nullptr);
  g_warnings = 0;  // from here on (the fixture's settings warn about deprecated spellings)

  constexpr int kThreads = 4, kPerThread = 200;
  std::atomic<bool> go{false};
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> publishers;
  for (int t = 0; t < kThreads; ++t) {
    publishers.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < kPerThread; ++i) {
        OwnedMessage m = message("n-" + std::to_string(t) + "-" + std::to_string(i), "neighbour");
        add(m, "k", QPLUG_VALUE_STRING, 0, 0, "v");
        const qplug_message* p = &m.view();
        qplug_status st = qplug::sdk::make_status();
        if (vt_->publish(q, &p, 1, nullptr, nullptr, nullptr, nullptr, &st) == QPLUG_OK) {
          ++ok;
        } else {
          ++failed;
          ADD_FAILURE() << "a neighbour's publish failed: " << st.message;
        }
      }
    });
  }
  go = true;
  struct Bad {
    const char* what;
    std::string key;
    std::string value;
    const char* expect;
  } bad[] = {
      {"a header block larger than frame_max", "big", std::string(200 * 1024, 'x'), "the largest is 'big'"},
      {"many headers that together exceed frame_max", "", "", "max_header_block_bytes"},
      {"a header key over 255 bytes", std::string(256, 'k'), "v", "max_header_key_bytes"},
  };
  for (const Bad& b : bad) {
    SCOPED_TRACE(b.what);
    OwnedMessage m = message("bad", "body");
    if (b.key.empty()) {
      for (int i = 0; i < 300; ++i) add(m, 'h' + std::to_string(i), QPLUG_VALUE_STRING, 0, 0, std::string(500, 'y'));
    } else {
      add(m, b.key, QPLUG_VALUE_STRING, 0, 0, b.value);
    }
    const qplug_message* p = &m.view();
    qplug_status st = qplug::sdk::make_status();
    EXPECT_EQ(vt_->publish(q, &p, 1, nullptr, nullptr, nullptr, nullptr, &st), QPLUG_INVALID) << st.message;
    EXPECT_EQ(st.flags & QPLUG_STATUS_RETRYABLE, 0u) << st.message;
    EXPECT_NE(std::string(st.message).find(b.expect), std::string::npos) << st.message;
  }
  for (auto& t : publishers) t.join();
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  EXPECT_EQ(failed.load(), 0);
  subscribe(q);
  ASSERT_TRUE(sink_.wait([&](const std::vector<OwnedMessage>& got) {
    return got.size() >= static_cast<size_t>(kThreads * kPerThread);
  })) << "the neighbours' messages were not all consumed";
  std::lock_guard lock(g_warning_mu);
  EXPECT_EQ(g_warnings.load(), 0) << "the connection was disturbed: " << g_last_warning;
}

}  // namespace
