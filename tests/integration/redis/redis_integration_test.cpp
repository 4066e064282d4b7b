// tests/integration/redis/redis_integration_test.cpp -- the Redis driver
// against a real redis-server: a consumer process killed with SIGKILL is
// reclaimed by another process, a broker restart during 10k messages loses
// nothing, redis-cli interoperates with the documented field layout, and
// acks settled from host threads (batched by the driver) all reach the broker,
// deliveries read together stay intact until each is settled, and delayed
// messages are parked in the documented keys and moved exactly once.
// Waits are bounded by deadlines; nothing asserts on time.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <qplug/sdk/versioned.hpp>
#include <set>
#include <thread>

#include "broker_env.hpp"
#include "redis_it.hpp"

namespace qplug::redis_it {
namespace {

using namespace std::chrono_literals;
constexpr auto kDeadline = 60s;

using qplug::testing::kRedis;
using qplug::testing::run_command;
using qplug::testing::unique_name;

bool wait_until(const std::function<bool()>& pred, std::chrono::seconds limit = kDeadline) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return pred();
}

std::set<std::string> lines_of(const std::string& path) {
  std::set<std::string> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.insert(line);
  return out;
}

// Collects deliveries (a copy of each message) and acks them.
struct Collector {
  const qplug_driver_v1* vt = nullptr;
  std::mutex mu;
  std::map<std::string, sdk::OwnedMessage> got;
  static void on_delivery(void* ud, qplug_delivery* d, const qplug_message* m) {
    auto* c = static_cast<Collector*>(ud);
    {
      std::lock_guard lock(c->mu);
      c->got.emplace(std::string(m->id.ptr, m->id.len), sdk::OwnedMessage(*m));
    }
    qplug_status st = sdk::make_status();
    c->vt->settle(d, QPLUG_ACK, &st);
  }
  size_t count() {
    std::lock_guard lock(mu);
    return got.size();
  }
};

class RedisIntegration : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why = qplug::testing::broker_unreachable(kRedis, redis_url());
    if (!why.empty()) {
      if (qplug::testing::brokers_required()) FAIL() << why;
      GTEST_SKIP() << why;
    }
    std::string error;
    vt_ = load_redis(&error);
    ASSERT_NE(vt_, nullptr) << error;
  }
  // Opens the driver with `extra` settings and declares a fresh stream
  // unique_name(what) on it; TearDown deletes the stream and closes the driver.
  void start(const std::string& what, std::vector<std::pair<std::string, std::string>> extra = {}) {
    qplug_status st = sdk::make_status();
    d_ = open_redis(vt_, std::move(extra), &st);
    ASSERT_NE(d_, nullptr) << st.message;
    name_ = unique_name(what);
    q_ = declare(vt_, d_, name_, &st);
    ASSERT_NE(q_, nullptr) << st.message;
  }
  void TearDown() override {
    if (!name_.empty()) run_command("redis-cli -u " + redis_url() + " DEL " + name_ + " >/dev/null");
    if (d_ != nullptr) vt_->close(d_, 5000);
  }
  qplug_consumer* subscribe(qplug_queue* q, Collector* c, uint32_t prefetch = 50) {
    c->vt = vt_;
    return subscribe(q, &Collector::on_delivery, c, prefetch);
  }
  qplug_consumer* subscribe(qplug_queue* q, qplug_deliver_fn deliver, void* ud, uint32_t prefetch) {
    auto o = qplug::sdk::versioned<qplug_subscribe_options>();
    o.prefetch = prefetch;
    qplug_status st = sdk::make_status();
    qplug_consumer* cons = vt_->subscribe(q, &o, deliver, ud, &st);
    EXPECT_NE(cons, nullptr) << st.message;
    return cons;
  }
  void stop(qplug_consumer* c) {
    qplug_status st = sdk::make_status();
    vt_->unsubscribe(c, &st);
    vt_->consumer_free(c);
  }
  const qplug_driver_v1* vt_ = nullptr;
  qplug_driver* d_ = nullptr;
  qplug_queue* q_ = nullptr;
  std::string name_;
};

pid_t spawn_worker(const std::string& queue, const std::string& out, const char* mode) {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::execl(QPLUG_REDIS_WORKER, QPLUG_REDIS_WORKER, queue.c_str(), "workers", out.c_str(), mode, "1s",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

TEST_F(RedisIntegration, KilledConsumerProcessIsReclaimedByAnotherProcess) {
  constexpr int kCount = 300;
  ASSERT_NO_FATAL_FAILURE(start("kill"));
  qplug_status st = sdk::make_status();
  std::set<std::string> sent;
  for (int i = 0; i < kCount; ++i) {
    sdk::OwnedMessage m = message('k' + std::to_string(i), "payload");
    const qplug_message* p = &m.view();
    ASSERT_EQ(vt_->publish(q_, &p, 1, nullptr, nullptr, nullptr, nullptr, &st), QPLUG_OK) << st.message;
    sent.insert(m.id);
  }
  std::string file_a = "/tmp/" + name_ + "-a.txt", file_b = "/tmp/" + name_ + "-b.txt";
  // Process A acks half of what it gets and holds the rest, then dies hard.
  pid_t a = spawn_worker(name_, file_a, "half");
  ASSERT_GT(a, 0);
  bool a_worked = wait_until([&] { return lines_of(file_a).size() >= 15; });
  ::kill(a, SIGKILL);
  ::waitpid(a, nullptr, 0);
  ASSERT_TRUE(a_worked) << "worker A processed nothing";
  // Process B must process everything A did not ack, including A's pending entries.
  pid_t b = spawn_worker(name_, file_b, "all");
  ASSERT_GT(b, 0);
  auto processed = [&] {
    std::set<std::string> all = lines_of(file_a);
    for (const auto& id : lines_of(file_b)) all.insert(id);
    return all;
  };
  bool complete = wait_until([&] { return processed().size() >= sent.size(); });
  ::kill(b, SIGTERM);
  int status = 0;
  ::waitpid(b, &status, 0);
  std::set<std::string> all = processed();
  EXPECT_TRUE(complete) << "processed " << all.size() << " of " << sent.size();
  EXPECT_EQ(all, sent);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "worker B did not exit cleanly";
  std::remove(file_a.c_str());
  std::remove(file_b.c_str());
}

TEST_F(RedisIntegration, BrokerRestartDuringTenThousandMessagesLosesNothing) {
  constexpr int kCount = 10000, kBatch = 50;
  ASSERT_NO_FATAL_FAILURE(
      start("restart", {{"publish_timeout", "20s"}, {"reconnect.max", "500ms"}, {"block", "200ms"}}));
  Collector got;
  qplug_consumer* c = subscribe(q_, &got);
  ASSERT_NE(c, nullptr);
  std::atomic<int> published{0};
  std::atomic<int> retries{0};
  std::thread publisher([&] {
    for (int i = 0; i < kCount; i += kBatch) {
      std::vector<sdk::OwnedMessage> batch;
      for (int j = i; j < i + kBatch; ++j) batch.push_back(message('m' + std::to_string(j), "x"));
      std::vector<const qplug_message*> ptrs;
      for (auto& m : batch) ptrs.push_back(&m.view());
      size_t done = 0;
      while (done < ptrs.size()) {  // retry the unconfirmed tail of retryable failures
        size_t accepted = 0;
        qplug_status s = sdk::make_status();
        int32_t rc = vt_->publish(q_, ptrs.data() + done, ptrs.size() - done, nullptr, nullptr, nullptr, &accepted, &s);
        done += accepted;
        if (rc != QPLUG_OK) {
          if ((s.flags & QPLUG_STATUS_RETRYABLE) == 0) {
            ADD_FAILURE() << "non-retryable publish failure: " << s.message;
            return;
          }
          ++retries;
          std::this_thread::sleep_for(50ms);
        }
      }
      published += kBatch;
    }
  });
  ASSERT_TRUE(wait_until([&] { return published.load() >= 3000; }));
  bool restarted = qplug::testing::restart_broker(kRedis);
  publisher.join();
  ASSERT_TRUE(restarted) << "brokers.sh restart redis failed";
  bool complete = wait_until([&] { return got.count() >= static_cast<size_t>(kCount); }, 120s);
  stop(c);
  EXPECT_TRUE(complete) << "received " << got.count() << " unique of " << kCount;
  std::set<std::string> missing;
  for (int i = 0; i < kCount; ++i)
    if (got.got.count('m' + std::to_string(i)) == 0) missing.insert('m' + std::to_string(i));
  EXPECT_TRUE(missing.empty()) << missing.size() << " lost, first " << *missing.begin();
  std::printf("restart: %d publish retries\n", retries.load());
}

// Deliveries handed to host threads that settle them later (as the core's
// worker pool does): the driver batches these acks (on the reader's
// connection or merged per writer round); none may be lost or resent.
struct HostThreads {
  const qplug_driver_v1* vt = nullptr;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::pair<qplug_delivery*, sdk::OwnedMessage>> todo;
  std::map<std::string, std::vector<uint32_t>> attempts;  // id -> attempts of each delivery
  std::set<std::string> acked;
  bool done = false;
  static void on_delivery(void* ud, qplug_delivery* d, const qplug_message* m) {
    auto* h = static_cast<HostThreads*>(ud);
    std::lock_guard lock(h->mu);
    h->todo.emplace_back(d, sdk::OwnedMessage(*m));
    h->cv.notify_one();
  }
  // Nacks every 7th message on its first delivery, acks everything else.
  void work() {
    std::unique_lock lock(mu);
    while (true) {
      cv.wait(lock, [&] { return done || !todo.empty(); });
      if (todo.empty()) return;
      auto [d, m] = std::move(todo.front());
      todo.pop_front();
      attempts[m.id].push_back(m.attempts);
      bool nack = std::stoi(m.id.substr(1)) % 7 == 0 && m.attempts == 1;
      lock.unlock();
      qplug_status st = sdk::make_status();
      int32_t rc = vt->settle(d, nack ? QPLUG_NACK_REQUEUE : QPLUG_ACK, &st);
      lock.lock();
      if (rc != QPLUG_OK) ADD_FAILURE() << "settle " << m.id << ": " << st.message;
      if (!nack) acked.insert(m.id);
    }
  }
};

TEST_F(RedisIntegration, AcksFromHostThreadsAllReachTheBrokerExactlyOnce) {
  constexpr int kCount = 3000, kBatch = 100;
  ASSERT_NO_FATAL_FAILURE(start("acks", {{"block", "200ms"}}));
  qplug_status st = sdk::make_status();
  HostThreads host;
  host.vt = vt_;
  std::vector<std::thread> workers;
  for (int i = 0; i < 2; ++i) workers.emplace_back([&] { host.work(); });
  qplug_consumer* c = subscribe(q_, &HostThreads::on_delivery, &host, 64);
  ASSERT_NE(c, nullptr);
  // Publish while consuming, so acks arrive both while the reader is idle and
  // while it blocks in XREADGROUP.
  for (int i = 0; i < kCount; i += kBatch) {
    std::vector<sdk::OwnedMessage> batch;
    for (int j = i; j < i + kBatch; ++j) batch.push_back(message('m' + std::to_string(j), "x"));
    std::vector<const qplug_message*> ptrs;
    for (auto& m : batch) ptrs.push_back(&m.view());
    ASSERT_EQ(vt_->publish(q_, ptrs.data(), ptrs.size(), nullptr, nullptr, nullptr, nullptr, &st), QPLUG_OK)
        << st.message;
  }
  auto acked = [&] {
    std::lock_guard lock(host.mu);
    return host.acked.size();
  };
  bool complete = wait_until([&] { return acked() >= static_cast<size_t>(kCount); });
  // Unsubscribe right after the last settle: acks the reader had not sent yet must still go out.
  stop(c);
  {
    std::lock_guard lock(host.mu);
    host.done = true;
  }
  host.cv.notify_all();
  for (auto& t : workers) t.join();
  EXPECT_TRUE(complete) << "acked " << acked() << " of " << kCount;
  std::string pending_cmd = "redis-cli -u " + redis_url() + " XPENDING " + name_ + " " + name_ + " | head -1";
  bool drained = wait_until([&] { return run_command(pending_cmd) == "0\n"; });
  EXPECT_TRUE(drained) << "entries still pending in the group: " << run_command(pending_cmd);
  // Nothing redelivered but the nacked ones, each exactly once with attempts 2.
  for (int i = 0; i < kCount; ++i) {
    std::string id = 'm' + std::to_string(i);
    std::vector<uint32_t> expect = i % 7 == 0 ? std::vector<uint32_t>{1, 2} : std::vector<uint32_t>{1};
    EXPECT_EQ(host.attempts[id], expect) << id;
  }
}

// Holds every delivery with its borrowed view (no copy), for tests of how
// long a delivery's buffers stay valid.
struct Holder {
  std::mutex mu;
  std::vector<std::pair<qplug_delivery*, const qplug_message*>> held;
  static void on_delivery(void* ud, qplug_delivery* d, const qplug_message* m) {
    auto* h = static_cast<Holder*>(ud);
    std::lock_guard lock(h->mu);
    h->held.emplace_back(d, m);
  }
  size_t count() {
    std::lock_guard lock(mu);
    return held.size();
  }
};

// The fields a delivered view must still show (id, body, typed headers).
void expect_intact(const qplug_message* m) {
  std::string id(m->id.ptr, m->id.len);
  ASSERT_EQ(id.substr(0, 1), "v") << id;
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(m->body.ptr), m->body.len), "body of " + id);
  ASSERT_EQ(m->header_count, 2u) << id;
  EXPECT_EQ(std::string(m->headers[0].key.ptr, m->headers[0].key.len), "n");
  EXPECT_EQ(m->headers[0].value.type, QPLUG_VALUE_INT64);
  EXPECT_EQ(m->headers[0].value.as.i64, std::stoll(id.substr(1)));
  EXPECT_EQ(std::string(m->headers[1].value.as.str.ptr, m->headers[1].value.as.str.len), "tag-" + id);
}

TEST_F(RedisIntegration, DeliveriesOfOneReadStayValidUntilEachIsSettled) {
  // Deliveries read together share the reply they came in: each must stay
  // intact while the others are settled (in any order), and after
  // unsubscribe until it is settled itself (ASan checks the memory).
  constexpr int kCount = 40;
  ASSERT_NO_FATAL_FAILURE(start("views"));
  qplug_status st = sdk::make_status();
  std::vector<sdk::OwnedMessage> batch;
  for (int i = 0; i < kCount; ++i) {
    std::string id = 'v' + std::to_string(i);
    sdk::OwnedMessage m = message(id, "body of " + id);
    m.headers.push_back({"n", QPLUG_VALUE_INT64, i, 0, ""});
    m.headers.push_back({"tag", QPLUG_VALUE_STRING, 0, 0, "tag-" + id});
    batch.push_back(std::move(m));
  }
  std::vector<const qplug_message*> ptrs;
  for (auto& m : batch) ptrs.push_back(&m.view());
  ASSERT_EQ(vt_->publish(q_, ptrs.data(), ptrs.size(), nullptr, nullptr, nullptr, nullptr, &st), QPLUG_OK)
      << st.message;
  Holder h;
  qplug_consumer* c = subscribe(q_, &Holder::on_delivery, &h, kCount);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(wait_until([&] { return h.count() >= static_cast<size_t>(kCount); })) << "got " << h.count();
  std::lock_guard lock(h.mu);
  // Settle the odd ones, newest first, checking the others after each settle.
  for (int i = kCount - 1; i >= 0; --i) {
    if (i % 2 == 0) continue;
    ASSERT_EQ(vt_->settle(h.held[i].first, QPLUG_ACK, &st), QPLUG_OK) << st.message;
    for (int j = 0; j < i; j += 2) ASSERT_NO_FATAL_FAILURE(expect_intact(h.held[j].second));
  }
  // Unsubscribing hands the rest back to the broker; their views stay valid
  // until each is settled (which then reports CANCELED).
  ASSERT_EQ(vt_->unsubscribe(c, &st), QPLUG_OK) << st.message;
  for (int i = 0; i < kCount; i += 2) {
    ASSERT_NO_FATAL_FAILURE(expect_intact(h.held[i].second));
    qplug_status s2 = sdk::make_status();
    EXPECT_EQ(vt_->settle(h.held[i].first, QPLUG_ACK, &s2), QPLUG_CANCELED);
  }
  vt_->consumer_free(c);
}

TEST_F(RedisIntegration, RedisCliInteroperatesThroughTheDocumentedFields) {
  ASSERT_NO_FATAL_FAILURE(start("cli"));
  qplug_status st = sdk::make_status();
  std::string cli = "redis-cli -u " + redis_url() + " ";
  // 1. Entries written by redis-cli: typed fields, a plain field, and body only.
  run_command(
      cli + "XADD " + name_ +
      " '*' id cli-1 ct text/plain body hello h.i:count 42 h.f:ratio 0.5 h.b:urgent true h.s:who cli priority high");
  run_command(cli + "XADD " + name_ + " '*' body just-a-body");
  Collector got;
  qplug_consumer* c = subscribe(q_, &got);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(wait_until([&] { return got.count() >= 2; })) << "got " << got.count();
  stop(c);
  const sdk::OwnedMessage& m = got.got.at("cli-1");
  EXPECT_EQ(m.content_type, "text/plain");
  EXPECT_EQ(m.body, "hello");
  EXPECT_EQ(m.attempts, 1u);
  std::map<std::string, const sdk::OwnedHeader*> h;
  for (const auto& oh : m.headers) h[oh.key] = &oh;
  ASSERT_EQ(h.size(), 5u);
  EXPECT_EQ(h["count"]->type, QPLUG_VALUE_INT64);
  EXPECT_EQ(h["count"]->i64, 42);
  EXPECT_EQ(h["ratio"]->type, QPLUG_VALUE_DOUBLE);
  EXPECT_EQ(h["ratio"]->f64, 0.5);
  EXPECT_EQ(h["urgent"]->type, QPLUG_VALUE_BOOL);
  EXPECT_EQ(h["urgent"]->i64, 1);
  EXPECT_EQ(h["who"]->data, "cli");
  EXPECT_EQ(h["priority"]->type, QPLUG_VALUE_STRING);
  EXPECT_EQ(h["priority"]->data, "high");
  bool body_only = false;
  for (const auto& [id, msg] : got.got) body_only |= msg.body == "just-a-body" && !msg.id.empty();
  EXPECT_TRUE(body_only) << "a body-only entry must be delivered, its stream ID as message ID";

  // 2. A message qplug publishes is readable with XRANGE in the same layout.
  std::string key2 = name_ + "-out";
  qplug_queue* q2 = declare(vt_, d_, key2, &st);
  ASSERT_NE(q2, nullptr) << st.message;
  sdk::OwnedMessage out = message("qp-1", "{\"a\":1}");
  out.content_type = "application/json";
  out.headers.push_back({"n", QPLUG_VALUE_INT64, 7, 0, ""});
  out.headers.push_back({"tag", QPLUG_VALUE_STRING, 0, 0, "blue"});
  const qplug_message* p = &out.view();
  ASSERT_EQ(vt_->publish(q2, &p, 1, nullptr, nullptr, nullptr, nullptr, &st), QPLUG_OK) << st.message;
  std::string dump = run_command(cli + "--raw XRANGE " + key2 + " - +");
  for (const char* expect :
       {"\nid\nqp-1\n", "\nct\napplication/json\n", "\nbody\n{\"a\":1}\n", "\nh.i:n\n7\n", "\nh.s:tag\nblue\n"})
    EXPECT_NE(dump.find(expect), std::string::npos) << "XRANGE output lacks " << expect << ":\n" << dump;
  run_command(cli + "DEL " + key2 + " >/dev/null");
}

// A delayed message waits in <stream>:delayed (ZSET) / <stream>:delayed:msgs
// (STREAM) with exactly the fields its XADD would carry, minus `delay`.
TEST_F(RedisIntegration, DelayedMessageIsParkedWithTheFieldsOfItsXadd) {
  ASSERT_NO_FATAL_FAILURE(start("parked"));
  std::string cli = "redis-cli -u " + redis_url() + " ";
  sdk::OwnedMessage m = message("parked-1", "payload");
  m.content_type = "text/plain";
  m.headers.push_back({"n", QPLUG_VALUE_INT64, 7, 0, ""});
  m.headers.push_back({"delay", QPLUG_VALUE_STRING, 0, 0, "10m"});
  m.headers.push_back({"tag", QPLUG_VALUE_STRING, 0, 0, "blue"});
  const qplug_message* p = &m.view();
  qplug_status st = sdk::make_status();
  ASSERT_EQ(vt_->publish(q_, &p, 1, nullptr, nullptr, nullptr, nullptr, &st), QPLUG_OK) << st.message;
  EXPECT_EQ(run_command(cli + "XLEN " + name_), "0\n") << "a delayed message went into the stream at once";
  EXPECT_EQ(run_command(cli + "ZCARD " + name_ + ":delayed"), "1\n");
  std::string dump = run_command(cli + "--raw XRANGE " + name_ + ":delayed:msgs - +");
  for (const char* expect :
       {"\nid\nparked-1\n", "\nct\ntext/plain\n", "\nbody\npayload\n", "\nh.i:n\n7\n", "\nh.s:tag\nblue\n"})
    EXPECT_NE(dump.find(expect), std::string::npos) << "parked entry lacks " << expect << ":\n" << dump;
  EXPECT_EQ(dump.find("delay"), std::string::npos) << "the delay header must be consumed:\n" << dump;
  // queue_info counts it as waiting (XINFO GROUPS and ZCARD, one admin
  // connection): `qplug run --exit-when-idle` must not stop before it is due.
  auto info = qplug::sdk::versioned<qplug_queue_info>();
  ASSERT_EQ(vt_->queue_info(q_, &info, &st), QPLUG_OK) << st.message;
  EXPECT_EQ(info.messages, 1);
  EXPECT_EQ(info.in_flight, 0);
  // Due more than 9 minutes after now on the server's clock.
  std::string score = run_command(cli + "--raw ZRANGE " + name_ + ":delayed 0 0 WITHSCORES");
  std::string now = run_command(cli + "--raw TIME");
  long long due = std::stoll(score.substr(score.find('\n') + 1));
  long long now_ms = std::stoll(now.substr(0, now.find('\n'))) * 1000;
  EXPECT_GT(due - now_ms, 9 * 60 * 1000) << score;
  run_command(cli + "DEL " + name_ + ":delayed " + name_ + ":delayed:msgs >/dev/null");
}

// Three driver instances (three movers) compete for one queue's due delayed
// messages: each is delivered exactly once and nothing stays parked.
TEST_F(RedisIntegration, ConcurrentMoversNeitherLoseNorDuplicateDelayedMessages) {
  ASSERT_NO_FATAL_FAILURE(start("movers", {{"block", "50ms"}}));
  constexpr int kCount = 300;
  std::vector<sdk::OwnedMessage> ms;
  for (int i = 0; i < kCount; ++i) {
    ms.push_back(message("dm-" + std::to_string(i), "x"));
    ms.back().headers.push_back({"delay", QPLUG_VALUE_INT64, 300 + (i % 7) * 20, 0, ""});
    ms.back().headers.push_back({"k", QPLUG_VALUE_INT64, i, 0, ""});
  }
  std::vector<const qplug_message*> ptrs;
  for (auto& m : ms) ptrs.push_back(&m.view());
  qplug_status st = sdk::make_status();
  size_t accepted = 0;
  ASSERT_EQ(vt_->publish(q_, ptrs.data(), ptrs.size(), nullptr, nullptr, nullptr, &accepted, &st), QPLUG_OK)
      << st.message;
  ASSERT_EQ(accepted, static_cast<size_t>(kCount));

  struct Counting {
    const qplug_driver_v1* vt = nullptr;
    std::mutex mu;
    std::map<std::string, int> seen;
    std::map<std::string, int64_t> k;
    bool delay_header = false;
    static void on_delivery(void* ud, qplug_delivery* d, const qplug_message* m) {
      auto* c = static_cast<Counting*>(ud);
      {
        std::lock_guard lock(c->mu);
        std::string id(m->id.ptr, m->id.len);
        ++c->seen[id];
        for (size_t h = 0; h < m->header_count; ++h) {
          std::string key(m->headers[h].key.ptr, m->headers[h].key.len);
          if (key == "delay") c->delay_header = true;
          if (key == "k" && m->headers[h].value.type == QPLUG_VALUE_INT64) c->k[id] = m->headers[h].value.as.i64;
        }
      }
      qplug_status s = sdk::make_status();
      c->vt->settle(d, QPLUG_ACK, &s);
    }
    size_t distinct() {
      std::lock_guard lock(mu);
      return seen.size();
    }
  } got;
  got.vt = vt_;
  std::vector<qplug_driver*> drivers;
  std::vector<qplug_consumer*> consumers;
  for (int i = 0; i < 3; ++i) {
    qplug_driver* d = open_redis(vt_, {{"block", "50ms"}}, &st);
    ASSERT_NE(d, nullptr) << st.message;
    drivers.push_back(d);
    qplug_queue* q = declare(vt_, d, name_, &st);
    ASSERT_NE(q, nullptr) << st.message;
    consumers.push_back(subscribe(q, &Counting::on_delivery, &got, 20));
    ASSERT_NE(consumers.back(), nullptr);
  }
  EXPECT_TRUE(wait_until([&] { return got.distinct() >= static_cast<size_t>(kCount); }))
      << "got " << got.distinct() << " of " << kCount;
  std::this_thread::sleep_for(300ms);  // a late duplicate would show up now (not an assertion by itself)
  for (qplug_consumer* c : consumers) stop(c);
  for (qplug_driver* d : drivers) vt_->close(d, 5000);
  std::lock_guard lock(got.mu);
  for (int i = 0; i < kCount; ++i) {
    std::string id = "dm-" + std::to_string(i);
    EXPECT_EQ(got.seen[id], 1) << id;
    EXPECT_EQ(got.k[id], i) << id << ": typed header lost in the move";
  }
  EXPECT_FALSE(got.delay_header) << "the delay header must be consumed, not delivered";
  std::string cli = "redis-cli -u " + redis_url() + " ";
  EXPECT_EQ(run_command(cli + "ZCARD " + name_ + ":delayed"), "0\n");
  EXPECT_EQ(run_command(cli + "XLEN " + name_ + ":delayed:msgs"), "0\n");
  run_command(cli + "DEL " + name_ + ":delayed " + name_ + ":delayed:msgs >/dev/null");
}

}  // namespace
}  // namespace qplug::redis_it
