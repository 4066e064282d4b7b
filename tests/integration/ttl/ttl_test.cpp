// tests/integration/ttl/ttl_test.cpp -- the `ttl` header end to end through
// the core on redis (checked by the core on delivery) and amqp (expired by
// RabbitMQ too, `expiration`): the scenarios of ttl_scenarios.hpp, which the
// memory driver runs in tests/unit/consumer_retry_test.cpp.
#include <gtest/gtest.h>

#include <qplug/config.hpp>
#include <qplug/runtime.hpp>
#include <string>

#include "broker_env.hpp"
#include "ttl_scenarios.hpp"

namespace qplug::testing {
void PrintTo(const Broker& b, std::ostream* os) { *os << b.name; }
}  // namespace qplug::testing

namespace qplug {
namespace {

using qplug::testing::Broker;

class Ttl : public ::testing::TestWithParam<Broker> {
 protected:
  void SetUp() override {
    url_ = qplug::testing::broker_url(GetParam());
    if (std::string why = qplug::testing::broker_unreachable(GetParam(), url_); !why.empty()) {
      if (qplug::testing::brokers_required()) FAIL() << why;
      GTEST_SKIP() << why;
    }
    unique_ = qplug::testing::unique_name("ttl");
  }
  void TearDown() override {
    if (rt_) rt_->stop();
    if (GetParam().name == std::string_view("redis") && !unique_.empty()) {
      qplug::testing::run_command("redis-cli -u " + url_ + " --scan --pattern '" + unique_ +
                                  "-*' | xargs -r redis-cli -u " + url_ + " DEL >/dev/null");
    }
  }
  // A runtime with `plain` (no dead_letter.queue), `with_dlq` and its
  // dead-letter queue `expired`, all on queues no other run uses.
  Runtime& runtime() {
    std::string driver =
        GetParam().name == std::string_view("redis")
            ? "  - {kind: queue.driver.redis, name: broker, url: '" + url_ + "', key_prefix: '" + unique_ + "-'}\n"
            : "  - {kind: queue.driver.amqp, name: broker, url: '" + url_ + "'}\n";
    auto queue = [&](const std::string& name, const std::string& extra) {
      return "  - {kind: queue.queue, name: " + name + ", driver: broker, queue_name: " + unique_ + '-' + name + extra +
             "}\n";
    };
    auto cfg = parse_config("version: 1\nnamespace: it\nentries:\n" + driver + queue("plain", "") +
                                queue("with_dlq", ", dead_letter: {queue: it:expired}") + queue("expired", ""),
                            "ttl.yaml");
    EXPECT_TRUE(cfg.ok()) << cfg.status().to_string();
    auto rt = Runtime::create(std::move(*cfg));
    EXPECT_TRUE(rt.ok()) << rt.status().to_string();
    rt_ = std::move(*rt);
    return *rt_;
  }

  std::string url_, unique_;
  std::unique_ptr<Runtime> rt_;
};

TEST_P(Ttl, ExpiredMessageIsNeverHandedToTheHandler) {
  qplug::test_util::expect_expired_message_dropped(runtime(), "it:plain");
}

TEST_P(Ttl, ExpiredMessageGoesToTheConfiguredDeadLetterQueue) {
  qplug::test_util::expect_expired_message_dead_lettered(runtime(), "it:with_dlq", "it:expired");
}

INSTANTIATE_TEST_SUITE_P(Brokers, Ttl, ::testing::Values(qplug::testing::kRedis, qplug::testing::kRabbitmq),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace qplug
