// tests/integration/redis/redis_slow_reply_test.cpp -- a Redis that answers
// late but answers (every byte 1.5 s late through the fault proxy, as a
// busy server or a long link would) while one publish of a pipelined round
// has a short timeout. That publish alone fails (TIMEOUT, retryable); the
// others of its round keep their connection and are stored exactly once.
// The writer once shortened the socket timeout of the whole round to the
// shortest deadline: the read timed out, hiredis failed the connection, and
// every other command of the round was sent again, storing it twice.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <qplug/sdk/versioned.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "broker_env.hpp"
#include "fault_proxy.hpp"
#include "redis_it.hpp"

namespace qplug::redis_it {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using qplug::testing::kRedis;
using qplug::testing::run_command;

constexpr auto kLatency = 1500ms;  // each way: one round trip takes 3 s
constexpr auto kDeadline = 60s;

bool wait_until(const std::function<bool()>& pred, std::chrono::seconds limit = kDeadline) {
  const auto end = Clock::now() + limit;
  while (Clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return pred();
}

// One asynchronous publish and its outcome.
struct Outcome {
  std::atomic<bool> done{false};
  qplug_status st{};
  Clock::time_point at{};
  static void on_done(void* ud, const qplug_status* st, size_t /*accepted*/) {
    auto* o = static_cast<Outcome*>(ud);
    o->st = *st;
    o->at = Clock::now();
    o->done.store(true);
  }
};

class RedisSlowReply : public ::testing::Test {
 protected:
  void SetUp() override {
    QPLUG_REQUIRE_BROKER(kRedis, redis_url());
    std::string error;
    vt_ = load_redis(&error);
    ASSERT_NE(vt_, nullptr) << error;
    proxy_ = std::make_unique<qplug::testing::FaultProxy>("127.0.0.1", redis_port());
    // command_timeout well above a round trip: this link is slow, not dead.
    std::vector<std::pair<std::string, std::string>> cfg{{"url", proxy_->rewrite_url(redis_url())},
                                                         {"command_timeout", "30s"}};
    std::vector<qplug_kv> kv;
    for (auto& [k, v] : cfg) kv.push_back({{k.data(), k.size()}, {v.data(), v.size()}});
    qplug_status st = sdk::make_status();
    d_ = vt_->open(nullptr, kv.data(), kv.size(), &st);
    ASSERT_NE(d_, nullptr) << st.message;
    name_ = qplug::testing::unique_name("slowreply");
    q_ = declare(vt_, d_, name_, &st);
    ASSERT_NE(q_, nullptr) << st.message;
  }
  void TearDown() override {
    if (proxy_) proxy_->heal();
    if (d_ != nullptr) vt_->close(d_, 5000);
    if (!name_.empty()) run_command(cli() + "DEL " + name_ + " >/dev/null");
  }

  static int redis_port() {
    const std::string url = redis_url();
    const auto colon = url.rfind(':');
    return std::stoi(url.substr(colon + 1));  // "redis://host:port/db" -> port
  }
  static std::string cli() { return "redis-cli -u " + redis_url() + ' '; }  // straight to redis, not the proxy

  void publish_async(const std::string& id, int64_t timeout_ms, Outcome* out) {
    sdk::OwnedMessage m = message(id, "payload");
    const qplug_message* p = &m.view();
    auto o = qplug::sdk::versioned<qplug_publish_options>();
    o.timeout_ms = timeout_ms;
    qplug_status st = sdk::make_status();
    ASSERT_EQ(vt_->publish(q_, &p, 1, &o, &Outcome::on_done, out, nullptr, &st), QPLUG_OK) << st.message;
  }

  // How many entries of the stream carry message ID `id`.
  size_t stored(const std::string& id) {
    std::istringstream dump(run_command(cli() + "--raw XRANGE " + name_ + " - +"));
    size_t n = 0;
    for (std::string line; std::getline(dump, line);) n += line == id ? 1 : 0;
    return n;
  }

  const qplug_driver_v1* vt_ = nullptr;
  std::unique_ptr<qplug::testing::FaultProxy> proxy_;
  qplug_driver* d_ = nullptr;
  qplug_queue* q_ = nullptr;
  std::string name_;
};

TEST_F(RedisSlowReply, AShortTimeoutFailsOnlyItsPublishAndKeepsTheConnection) {
  // A plain publish first: the writer's connection is up before the link slows.
  Outcome warm;
  publish_async(name_ + "-warm", 30000, &warm);
  ASSERT_TRUE(wait_until([&] { return warm.done.load(); }));
  ASSERT_EQ(warm.st.code, QPLUG_OK) << warm.st.message;
  const uint64_t connections = proxy_->accepted();
  proxy_->slow(kLatency, 64 * 1024 * 1024);

  // C occupies the writer for one round trip. Once C is in the stream (half
  // way), A and B queue behind it, so the writer sends them in one round.
  Outcome c, a, b;
  publish_async(name_ + "-C", 60000, &c);
  ASSERT_TRUE(wait_until([&] { return run_command(cli() + "XLEN " + name_) == "2\n"; })) << "C never reached redis";
  publish_async(name_ + "-A", 60000, &a);
  // B's deadline passes after its round is sent (~1.5 s from now) and before
  // that round's replies are back (~4.5 s from now).
  constexpr int64_t kShortMs = 3000;
  const auto b_start = Clock::now();
  publish_async(name_ + "-B", kShortMs, &b);

  ASSERT_TRUE(wait_until([&] { return c.done.load() && a.done.load() && b.done.load(); }));
  EXPECT_EQ(c.st.code, QPLUG_OK) << c.st.message;
  EXPECT_EQ(a.st.code, QPLUG_OK) << a.st.message;
  EXPECT_EQ(b.st.code, QPLUG_TIMEOUT) << b.st.message;
  EXPECT_TRUE(b.st.flags & QPLUG_STATUS_RETRYABLE) << b.st.message;
  // B returns within its timeout (a correctness bound, generous for a loaded box).
  EXPECT_LE(b.at - b_start, std::chrono::milliseconds(kShortMs) + 10s) << "B waited past its timeout";

  // Every message stored once, and the writer never reconnected. B at most
  // once: the server executed its XADD, only the reply came too late (or,
  // on a box stalled past B's deadline before its round, it was never sent).
  EXPECT_EQ(stored(name_ + "-A"), 1u) << "A was sent again after B timed out";
  EXPECT_EQ(stored(name_ + "-C"), 1u);
  EXPECT_LE(stored(name_ + "-B"), 1u);
  EXPECT_EQ(proxy_->accepted(), connections) << "the writer dropped a live connection";

  // And the connection still works: B's late reply was read and dropped in order.
  proxy_->heal();
  Outcome after;
  publish_async(name_ + "-after", 30000, &after);
  ASSERT_TRUE(wait_until([&] { return after.done.load(); }));
  EXPECT_EQ(after.st.code, QPLUG_OK) << after.st.message;
  EXPECT_EQ(stored(name_ + "-after"), 1u);
  EXPECT_EQ(proxy_->accepted(), connections);
}

}  // namespace
}  // namespace qplug::redis_it
