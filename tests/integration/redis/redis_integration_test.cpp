// tests/integration/redis/redis_integration_test.cpp -- the Redis driver
// against a real redis-server: a consumer process killed with SIGKILL is
// reclaimed by another process, a broker restart during 10k messages loses
// nothing, redis-cli interoperates with the documented field layout, and
// acks settled from host threads (batched by the driver) all reach the broker.
// Waits are bounded by deadlines; nothing asserts on time.
#include "redis_it.hpp"

#include <qplug/sdk/url.hpp>

#include <gtest/gtest.h>

#include <netdb.h>
#include <signal.h>
#include <sys/socket.h>
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
#include <set>
#include <thread>

namespace qplug::redis_it {
namespace {

using namespace std::chrono_literals;
constexpr auto kDeadline = 60s;

std::string broker_problem() {
  std::string why;
  auto u = sdk::parse_url(redis_url(), &why);
  if (!u) return "QPLUG_TEST_REDIS_URL is malformed: " + why;
  std::string port = std::to_string(u->port == 0 ? 6379 : u->port);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(u->host.c_str(), port.c_str(), &hints, &res) != 0) return "cannot resolve " + u->host;
  int fd = ::socket(res->ai_family, res->ai_socktype, res->ai_protocol);
  bool ok = fd >= 0 && ::connect(fd, res->ai_addr, res->ai_addrlen) == 0;
  if (fd >= 0) ::close(fd);
  freeaddrinfo(res);
  return ok ? "" : "redis-server at " + u->host + ":" + port + " is not reachable (tools/scripts/brokers.sh start redis)";
}

std::string unique_name(const std::string& what) {
  return "qplug-it-" + what + "-" + std::to_string(getpid()) + "-" +
         std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
}

std::string brokers_script() {
  const char* env = std::getenv("QPLUG_BROKERS_SCRIPT");
  return env != nullptr && *env != '\0' ? env : std::string(QPLUG_SOURCE_DIR) + "/tools/scripts/brokers.sh";
}

// Runs a shell command and returns its stdout.
std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

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
    std::string why = broker_problem();
    if (!why.empty()) {
      const char* ci = std::getenv("CI");
      if (ci != nullptr && std::string(ci) == "true") FAIL() << why;
      GTEST_SKIP() << why;
    }
    std::string error;
    vt_ = load_redis(&error);
    ASSERT_NE(vt_, nullptr) << error;
  }
  qplug_driver* open(std::vector<std::pair<std::string, std::string>> extra = {}) {
    qplug_status st = sdk::make_status();
    qplug_driver* d = open_redis(vt_, std::move(extra), &st);
    EXPECT_NE(d, nullptr) << st.message;
    return d;
  }
  qplug_consumer* subscribe(qplug_queue* q, Collector* c, uint32_t prefetch = 50) {
    c->vt = vt_;
    qplug_subscribe_options o{};
    o.struct_size = sizeof o;
    o.abi_major = QPLUG_ABI_MAJOR;
    o.abi_minor = QPLUG_ABI_MINOR;
    o.prefetch = prefetch;
    qplug_status st = sdk::make_status();
    qplug_consumer* cons = vt_->subscribe(q, &o, &Collector::on_delivery, c, &st);
    EXPECT_NE(cons, nullptr) << st.message;
    return cons;
  }
  void stop(qplug_consumer* c) {
    qplug_status st = sdk::make_status();
    vt_->unsubscribe(c, &st);
    vt_->consumer_free(c);
  }
  const qplug_driver_v1* vt_ = nullptr;
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
  qplug_driver* d = open();
  ASSERT_NE(d, nullptr);
  std::string name = unique_name("kill");
  qplug_status st = sdk::make_status();
  qplug_queue* q = declare(vt_, d, name, &st);
  ASSERT_NE(q, nullptr) << st.message;
  std::set<std::string> sent;
  for (int i = 0; i < kCount; ++i) {
    sdk::OwnedMessage m = message("k" + std::to_string(i), "payload");
    const qplug_message* p = &m.view();
    ASSERT_EQ(vt_->publish(q, &p, 1, nullptr, nullptr, nullptr, nullptr, &st), QPLUG_OK) << st.message;
    sent.insert(m.id);
  }
  std::string file_a = "/tmp/" + name + "-a.txt", file_b = "/tmp/" + name + "-b.txt";
  // Process A acks half of what it gets and holds the rest, then dies hard.
  pid_t a = spawn_worker(name, file_a, "half");
  ASSERT_GT(a, 0);
  bool a_worked = wait_until([&] { return lines_of(file_a).size() >= 15; });
  ::kill(a, SIGKILL);
  ::waitpid(a, nullptr, 0);
  ASSERT_TRUE(a_worked) << "worker A processed nothing";
  // Process B must process everything A did not ack, including A's pending entries.
  pid_t b = spawn_worker(name, file_b, "all");
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
  run("redis-cli -u " + redis_url() + " DEL " + name + " >/dev/null");
  vt_->close(d, 5000);
}

TEST_F(RedisIntegration, BrokerRestartDuringTenThousandMessagesLosesNothing) {
  constexpr int kCount = 10000, kBatch = 50;
  qplug_driver* d = open({{"publish_timeout", "20s"}, {"reconnect.max", "500ms"}, {"block", "200ms"}});
  ASSERT_NE(d, nullptr);
  std::string name = unique_name("restart");
  qplug_status st = sdk::make_status();
  qplug_queue* q = declare(vt_, d, name, &st);
  ASSERT_NE(q, nullptr) << st.message;
  Collector got;
  qplug_consumer* c = subscribe(q, &got);
  ASSERT_NE(c, nullptr);
  std::atomic<int> published{0};
  std::atomic<int> retries{0};
  std::thread publisher([&] {
    for (int i = 0; i < kCount; i += kBatch) {
      std::vector<sdk::OwnedMessage> batch;
      for (int j = i; j < i + kBatch; ++j) batch.push_back(message("m" + std::to_string(j), "x"));
      std::vector<const qplug_message*> ptrs;
      for (auto& m : batch) ptrs.push_back(&m.view());
      size_t done = 0;
      while (done < ptrs.size()) {  // retry the unconfirmed tail of retryable failures
        size_t accepted = 0;
        qplug_status s = sdk::make_status();
        int32_t rc = vt_->publish(q, ptrs.data() + done, ptrs.size() - done, nullptr, nullptr, nullptr, &accepted, &s);
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
  int rc = std::system((brokers_script() + " restart redis >/dev/null 2>&1").c_str());
  publisher.join();
  ASSERT_EQ(rc, 0) << "brokers.sh restart redis failed";
  bool complete = wait_until([&] { return got.count() >= static_cast<size_t>(kCount); }, 120s);
  stop(c);
  EXPECT_TRUE(complete) << "received " << got.count() << " unique of " << kCount;
  std::set<std::string> missing;
  for (int i = 0; i < kCount; ++i)
    if (got.got.count("m" + std::to_string(i)) == 0) missing.insert("m" + std::to_string(i));
  EXPECT_TRUE(missing.empty()) << missing.size() << " lost, first " << *missing.begin();
  std::printf("restart: %d publish retries\n", retries.load());
  run("redis-cli -u " + redis_url() + " DEL " + name + " >/dev/null");
  vt_->close(d, 5000);
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
  qplug_driver* d = open({{"block", "200ms"}});
  ASSERT_NE(d, nullptr);
  std::string name = unique_name("acks");
  qplug_status st = sdk::make_status();
  qplug_queue* q = declare(vt_, d, name, &st);
  ASSERT_NE(q, nullptr) << st.message;
  HostThreads host;
  host.vt = vt_;
  std::vector<std::thread> workers;
  for (int i = 0; i < 2; ++i) workers.emplace_back([&] { host.work(); });
  qplug_subscribe_options o{};
  o.struct_size = sizeof o;
  o.abi_major = QPLUG_ABI_MAJOR;
  o.abi_minor = QPLUG_ABI_MINOR;
  o.prefetch = 64;
  qplug_consumer* c = vt_->subscribe(q, &o, &HostThreads::on_delivery, &host, &st);
  ASSERT_NE(c, nullptr) << st.message;
  // Publish while consuming, so acks arrive both while the reader is idle and
  // while it blocks in XREADGROUP.
  for (int i = 0; i < kCount; i += kBatch) {
    std::vector<sdk::OwnedMessage> batch;
    for (int j = i; j < i + kBatch; ++j) batch.push_back(message("m" + std::to_string(j), "x"));
    std::vector<const qplug_message*> ptrs;
    for (auto& m : batch) ptrs.push_back(&m.view());
    ASSERT_EQ(vt_->publish(q, ptrs.data(), ptrs.size(), nullptr, nullptr, nullptr, nullptr, &st), QPLUG_OK)
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
  std::string pending_cmd = "redis-cli -u " + redis_url() + " XPENDING " + name + " " + name + " | head -1";
  bool drained = wait_until([&] { return run(pending_cmd) == "0\n"; });
  EXPECT_TRUE(drained) << "entries still pending in the group: " << run(pending_cmd);
  // Nothing redelivered but the nacked ones, each exactly once with attempts 2.
  for (int i = 0; i < kCount; ++i) {
    std::string id = "m" + std::to_string(i);
    std::vector<uint32_t> expect = i % 7 == 0 ? std::vector<uint32_t>{1, 2} : std::vector<uint32_t>{1};
    EXPECT_EQ(host.attempts[id], expect) << id;
  }
  run("redis-cli -u " + redis_url() + " DEL " + name + " >/dev/null");
  vt_->close(d, 5000);
}

TEST_F(RedisIntegration, RedisCliInteroperatesThroughTheDocumentedFields) {
  qplug_driver* d = open();
  ASSERT_NE(d, nullptr);
  std::string name = unique_name("cli");
  qplug_status st = sdk::make_status();
  qplug_queue* q = declare(vt_, d, name, &st);
  ASSERT_NE(q, nullptr) << st.message;
  std::string cli = "redis-cli -u " + redis_url() + " ";
  // 1. Entries written by redis-cli: typed fields, a plain field, and body only.
  run(cli + "XADD " + name +
      " '*' id cli-1 ct text/plain body hello h.i:count 42 h.f:ratio 0.5 h.b:urgent true h.s:who cli priority high");
  run(cli + "XADD " + name + " '*' body just-a-body");
  Collector got;
  qplug_consumer* c = subscribe(q, &got);
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
  std::string key2 = name + "-out";
  qplug_queue* q2 = declare(vt_, d, key2, &st);
  ASSERT_NE(q2, nullptr) << st.message;
  sdk::OwnedMessage out = message("qp-1", "{\"a\":1}");
  out.content_type = "application/json";
  out.headers.push_back({"n", QPLUG_VALUE_INT64, 7, 0, ""});
  out.headers.push_back({"tag", QPLUG_VALUE_STRING, 0, 0, "blue"});
  const qplug_message* p = &out.view();
  ASSERT_EQ(vt_->publish(q2, &p, 1, nullptr, nullptr, nullptr, nullptr, &st), QPLUG_OK) << st.message;
  std::string dump = run(cli + "--raw XRANGE " + key2 + " - +");
  for (const char* expect : {"\nid\nqp-1\n", "\nct\napplication/json\n", "\nbody\n{\"a\":1}\n", "\nh.i:n\n7\n",
                             "\nh.s:tag\nblue\n"})
    EXPECT_NE(dump.find(expect), std::string::npos) << "XRANGE output lacks " << expect << ":\n" << dump;
  run(cli + "DEL " + name + " " + key2 + " >/dev/null");
  vt_->close(d, 5000);
}

}  // namespace
}  // namespace qplug::redis_it
