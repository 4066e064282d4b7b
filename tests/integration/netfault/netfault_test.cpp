// tests/integration/netfault/netfault_test.cpp -- network faults between
// qplug and a real broker, through the core Runtime with the driver's URL
// pointed at a FaultProxy (tests/support/fault_proxy.hpp). Built once per
// broker driver (netfault_target.hpp). What every driver must do:
//   - a cut link (RST) during a stream of publishes and consumes: reconnect,
//     and every acknowledged message is delivered (IDs counted);
//   - a black-holed link (no FIN, no RST, nothing comes back): every
//     connection the driver held is given up within its heartbeat bound
//     (heartbeat x 3 + a margin), and after the heal nothing is lost;
//   - a publish during a cut or a black hole returns within publish_timeout
//     (+ a margin) with OK or a retryable UNAVAILABLE/TIMEOUT;
//   - a slow link delivers everything.
// The bounds are correctness bounds (does it ever notice? does it ever hang?),
// generous for a loaded machine; every wait is a deadline loop.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <qplug/config.hpp>
#include <qplug/runtime.hpp>
#include <qplug/sdk/url.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "broker_env.hpp"
#include "fault_proxy.hpp"
#include "netfault_target.hpp"

namespace qplug::netfault {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Slack on top of every bound: a loaded box, a reconnect backoff step.
constexpr auto kMargin = 10s;
constexpr auto kDeliveryDeadline = 60s;

class NetFault : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string url = qplug::testing::broker_url(*target_.broker);
    if (std::string why = qplug::testing::broker_unreachable(*target_.broker, url); !why.empty()) {
      if (qplug::testing::brokers_required()) FAIL() << why;
      GTEST_SKIP() << why;
    }
    std::string why;
    auto u = sdk::parse_url(url, &why);
    ASSERT_TRUE(u) << url << ": " << why;
    const std::string host = u->host == "localhost" ? "127.0.0.1" : u->host;
    proxy_ = std::make_unique<qplug::testing::FaultProxy>(host, u->port == 0 ? target_.broker->default_port : u->port);
    url_ = proxy_->rewrite_url(url);
    unique_ = qplug::testing::unique_name("nf");
    queue_id_ = "nf:" + unique_;
  }

  void TearDown() override {
    if (proxy_) proxy_->heal();  // so stop() and close() meet a live broker
    if (sub_) {
      EXPECT_TRUE(sub_->stop().ok());
    }
    if (rt_) rt_->stop();
  }

  // A Runtime on the proxied URL and a subscription that records every ID it is handed.
  void start() {
    auto cfg = parse_config("version: 1\nnamespace: nf\nentries:\n  - {kind: queue.driver." + target_.driver +
                                ", name: broker, url: '" + url_ + "'" + target_.settings(unique_) +
                                "}\n  - {kind: queue.queue, name: " + unique_ + ", driver: broker}\n",
                            "netfault_test.yaml");
    ASSERT_TRUE(cfg.ok()) << cfg.status().to_string();
    auto rt = Runtime::create(std::move(*cfg));
    ASSERT_TRUE(rt.ok()) << rt.status().to_string();
    rt_ = std::move(*rt);
    ConsumerOptions opts;
    opts.concurrency = 2;
    auto sub = rt_->subscribe(queue_id_, opts, [this](Delivery& d) {
      std::lock_guard lock(mu_);
      received_.insert(d.message().id);
      return ok_status();
    });
    ASSERT_TRUE(sub.ok()) << sub.status().to_string();
    sub_ = std::move(*sub);
  }

  // One publish of message `id`, checked against the contract: it returns
  // within publish_timeout + margin, with OK or a retryable UNAVAILABLE/TIMEOUT.
  Status timed_publish(const std::string& id) {
    std::vector<Message> one(1);
    one[0].id = id;
    one[0].body = '"' + id + '"';
    const auto start = Clock::now();
    Status st = rt_->publish_batch(queue_id_, std::move(one));
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    EXPECT_LE(took, target_.publish_timeout + kMargin) << "publish of " << id << " blocked past publish_timeout";
    if (!st.ok()) {
      EXPECT_TRUE(st.retryable() && (st.kind() == ErrorKind::UNAVAILABLE || st.kind() == ErrorKind::TIMEOUT))
          << "publish of " << id << " during a fault: " << st.to_string() << (st.retryable() ? "" : " (not retryable)");
      failed_publishes_++;
    }
    return st;
  }

  // Publishes `id` until the broker took it (the caller's retry, with the same ID).
  void publish_until_ok(const std::string& id) {
    const auto deadline = Clock::now() + kDeliveryDeadline;
    while (!timed_publish(id).ok()) {
      ASSERT_LT(Clock::now(), deadline) << "publish of " << id << " never succeeded";
      std::this_thread::sleep_for(50ms);  // the caller's retry backoff
    }
    std::lock_guard lock(mu_);
    acked_.insert(id);
  }

  // Waits until every acknowledged ID was delivered; names what is missing.
  void expect_all_delivered() {
    const auto deadline = Clock::now() + kDeliveryDeadline;
    std::vector<std::string> missing;
    for (;;) {
      missing.clear();
      {
        std::lock_guard lock(mu_);
        for (const auto& id : acked_) {
          if (!received_.count(id)) missing.push_back(id);
        }
      }
      if (missing.empty() || Clock::now() > deadline) break;
      std::this_thread::sleep_for(20ms);
    }
    EXPECT_TRUE(missing.empty()) << missing.size() << " of " << acked_.size()
                                 << " acknowledged messages never delivered, first " << missing.front();
  }

  // Waits until the client gave up every connection it held before `mark`.
  void expect_dead_connections_detected(uint64_t mark) {
    const auto bound = target_.heartbeat * 3 + kMargin;
    const auto start = Clock::now();
    while (proxy_->open_accepted_before(mark) != 0 && Clock::now() - start < bound) {
      std::this_thread::sleep_for(20ms);
    }
    EXPECT_EQ(proxy_->open_accepted_before(mark), 0u) << target_.driver << " still holds black-holed connections "
                                                      << std::chrono::duration_cast<std::chrono::seconds>(bound).count()
                                                      << " s later (heartbeat " << target_.heartbeat.count() << " ms)";
  }

  std::string id(const char* what, int i) const { return unique_ + '-' + what + '-' + std::to_string(i); }

  Target target_ = make_target();
  std::unique_ptr<qplug::testing::FaultProxy> proxy_;
  std::string url_, unique_, queue_id_;
  std::unique_ptr<Runtime> rt_;
  std::unique_ptr<Subscription> sub_;
  std::mutex mu_;
  std::set<std::string> received_, acked_;
  std::atomic<int> failed_publishes_{0};
};

TEST_F(NetFault, CutDuringAStreamReconnectsAndLosesNothing) {
  start();
  constexpr int kMessages = 150;
  std::atomic<int> published{0};
  // The cut is held longer than publish_timeout, so at least one publish
  // spans all of it and must fail retryable rather than hang.
  std::thread fault([&] {
    const auto deadline = Clock::now() + kDeliveryDeadline;
    while (published.load() < kMessages / 3 && Clock::now() < deadline) std::this_thread::sleep_for(5ms);
    proxy_->cut();
    std::this_thread::sleep_for(target_.publish_timeout + 1s);
    proxy_->heal();
  });
  for (int i = 0; i < kMessages; ++i) {
    publish_until_ok(id("m", i));
    published++;
  }
  fault.join();
  expect_all_delivered();
  EXPECT_GT(failed_publishes_.load(), 0) << "no publish met the cut: the test did not test it";
}

TEST_F(NetFault, BlackholeIsDetectedWithinTheHeartbeatBoundAndHealed) {
  start();
  for (int i = 0; i < 10; ++i) publish_until_ok(id("before", i));
  expect_all_delivered();  // every connection is up and in use
  const uint64_t mark = proxy_->accepted();
  proxy_->blackhole();
  expect_dead_connections_detected(mark);
  proxy_->heal();
  for (int i = 0; i < 10; ++i) publish_until_ok(id("after", i));
  expect_all_delivered();
}

TEST_F(NetFault, PublishDuringABlackholeReturnsRetryableWithinPublishTimeout) {
  start();
  for (int i = 0; i < 5; ++i) publish_until_ok(id("before", i));
  expect_all_delivered();
  proxy_->blackhole();
  std::vector<std::string> failed;
  for (int i = 0; i < 3; ++i) {
    const std::string m = id("during", i);
    if (timed_publish(m).ok()) {
      std::lock_guard lock(mu_);
      acked_.insert(m);
    } else {
      failed.push_back(m);
    }
  }
  proxy_->heal();
  for (const auto& m : failed) publish_until_ok(m);
  expect_all_delivered();
}

TEST_F(NetFault, SlowLinkDeliversEverything) {
  proxy_->slow(25ms, 256 * 1024);
  start();
  for (int i = 0; i < 60; ++i) publish_until_ok(id("m", i));
  expect_all_delivered();
}

}  // namespace
}  // namespace qplug::netfault
