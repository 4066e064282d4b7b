// consumer_retry_test.cpp -- what the core promises about failed, delayed and
// expiring messages, on the real memory plugin (issue 9 findings 3 and 7):
// a poison message ends in `<queue>.dead` with its error, a retry backoff
// costs no prefetch where the driver delays natively, `delay` is refused
// where it cannot be honoured, and an expired message never reaches a handler.
#include <qplug/driver.h>

#include <atomic>
#include <future>
#include <mutex>
#include <set>
#include <vector>

#include "retry_scenarios.hpp"
#include "runtime_test_util.hpp"
#include "ttl_scenarios.hpp"

namespace qplug {
namespace {

using test_util::eventually;
using test_util::make_runtime;
using ::testing::HasSubstr;

std::string header_text(const Message& m, std::string_view key) {
  const HeaderValue* v = find_header(m.headers, key);
  if (v == nullptr) return "<missing>";
  if (const auto* s = std::get_if<std::string>(v)) return *s;
  if (const auto* i = std::get_if<int64_t>(v)) return std::to_string(*i);
  return "<other>";
}

bool has_core_header(const Message& m) {
  for (const auto& [k, v] : m.headers) {
    if (k.starts_with("x-qplug-")) return true;
  }
  return false;
}

// No dead_letter.queue: the core declares app:tasks.dead beside app:tasks.
const char* kPoisonYaml = R"(
version: 1
namespace: app
entries:
  - {kind: queue.driver.memory, name: mem}
  - kind: queue.queue
    name: tasks
    driver: mem
    retry: {max_attempts: 3, initial_backoff: 5ms, max_backoff: 20ms}
)";

TEST(ConsumerRetryTest, PoisonMessageEndsInTheCoreDeclaredDeadQueueWithItsError) {
  auto rt = make_runtime(kPoisonYaml);
  ASSERT_TRUE(rt);
  std::mutex mu;
  std::vector<uint32_t> attempts;
  std::set<std::string> ids;
  bool saw_core_header = false;
  auto sub = rt->subscribe("app:tasks", {}, [&](Delivery& d) {
    std::lock_guard lock(mu);
    attempts.push_back(d.attempts());
    ids.insert(d.message().id);
    saw_core_header = saw_core_header || has_core_header(d.message());
    return internal_error("boom at attempt " + std::to_string(d.attempts()));
  });
  ASSERT_TRUE(sub.ok()) << sub.status().to_string();
  std::promise<Message> dead;
  auto dlq = rt->subscribe("app:tasks.dead", {}, [&](Delivery& d) {
    dead.set_value(d.message());
    return ok_status();
  });
  ASSERT_TRUE(dlq.ok()) << "the core declares app:tasks.dead: " << dlq.status().to_string();
  ASSERT_TRUE(rt->publish("app:tasks", Map{{"job", 1}}, {{"correlation_id", std::string("c-1")}}).ok());
  auto future = dead.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(30)), std::future_status::ready) << "never dead-lettered";
  const Message m = future.get();
  EXPECT_EQ(header_text(m, "x-reason"), "failed");
  EXPECT_EQ(header_text(m, "x-error"), "boom at attempt 3");
  EXPECT_EQ(header_text(m, "x-original-queue"), "app:tasks");
  EXPECT_EQ(header_text(m, "x-attempts"), "3");
  EXPECT_EQ(header_text(m, "correlation_id"), "c-1");
  EXPECT_FALSE(has_core_header(m));
  ASSERT_TRUE((*sub)->stop().ok());
  std::lock_guard lock(mu);
  EXPECT_EQ(attempts, (std::vector<uint32_t>{1, 2, 3})) << "attempts count across retries";
  EXPECT_EQ(ids.size(), 1u) << "a retry is the same message (same ID)";
  EXPECT_FALSE(saw_core_header) << "x-qplug-* headers are hidden from handlers";
  const SubscriptionCounters c = (*sub)->counters();
  EXPECT_EQ(c.failed, 3u);
  EXPECT_EQ(c.retried, 2u);
  EXPECT_EQ(c.dead_lettered, 1u);
  EXPECT_EQ((*sub)->retries_outstanding(), 0);
}

// prefetch 1 and a backoff of minutes: where the driver delays natively the
// failed message waits at the broker, so the next messages still flow
// (shared with the broker runs in tests/integration/scaleout).
TEST(ConsumerRetryTest, LongBackoffDoesNotStallTheNextMessages) {
  auto rt = make_runtime(R"(
version: 1
namespace: app
entries:
  - {kind: queue.driver.memory, name: mem}
  - kind: queue.queue
    name: tasks
    driver: mem
    retry: {max_attempts: 5, initial_backoff: 10m, max_backoff: 10m}
)");
  ASSERT_TRUE(rt);
  test_util::expect_long_backoff_does_not_stall(*rt, "app:tasks");
}

TEST(ConsumerRetryTest, DelayIsRefusedOnADriverWithoutCapDelay) {
  auto rt = make_runtime(std::string(R"(
version: 1
namespace: app
entries:
  - {kind: queue.driver.nodelay, name: nd, plugin: ')") +
                         QPLUG_NODELAY_PLUGIN + R"('}
  - {kind: queue.queue, name: x, driver: nd}
)");
  ASSERT_TRUE(rt);
  Status s = rt->publish("app:x", Value("later"), {{"delay", int64_t{5000}}});
  EXPECT_EQ(s.kind(), ErrorKind::INVALID) << s.to_string();
  EXPECT_THAT(s.message(), HasSubstr("queue 'app:x' (driver 'nodelay'): delay is not supported by this driver"));
  std::vector<Message> batch(1);
  batch[0].body = "\"later\"";
  batch[0].headers = {{"delay", std::string("2s")}};
  s = rt->publish_batch("app:x", std::move(batch));
  EXPECT_EQ(s.kind(), ErrorKind::INVALID) << s.to_string();
  EXPECT_TRUE(rt->publish("app:x", Value("now"), {{"delay", int64_t{0}}}).ok()) << "delay 0 means no delay";
  auto info = rt->info("app:x");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->messages, 1) << "the refused publishes sent nothing";
}

TEST(ConsumerRetryTest, MalformedDelayOrTtlIsInvalidNamingTheHeader) {
  auto rt = make_runtime(kPoisonYaml);
  ASSERT_TRUE(rt);
  Status s = rt->publish("app:tasks", Value("x"), {{"delay", std::string("soon")}});
  EXPECT_EQ(s.kind(), ErrorKind::INVALID);
  EXPECT_THAT(s.message(), HasSubstr("header 'delay'"));
  s = rt->publish("app:tasks", Value("x"), {{"ttl", int64_t{-1}}});
  EXPECT_EQ(s.kind(), ErrorKind::INVALID);
  EXPECT_THAT(s.message(), HasSubstr("header 'ttl'"));
}

const char* kTtlYaml = R"(
version: 1
namespace: app
entries:
  - {kind: queue.driver.memory, name: mem}
  - {kind: queue.queue, name: plain, driver: mem}
  - {kind: queue.queue, name: with_dlq, driver: mem, dead_letter: {queue: app:expired}}
  - {kind: queue.queue, name: expired, driver: mem}
)";

// The shared ttl scenarios (ttl_scenarios.hpp; redis and amqp run them in
// tests/integration/ttl).
TEST(ConsumerRetryTest, ExpiredMessageIsNeverHandedToTheHandler) {
  auto rt = make_runtime(kTtlYaml);
  ASSERT_TRUE(rt);
  test_util::expect_expired_message_dropped(*rt, "app:plain");
}

TEST(ConsumerRetryTest, ExpiredMessageGoesToTheConfiguredDeadLetterQueue) {
  auto rt = make_runtime(kTtlYaml);
  ASSERT_TRUE(rt);
  test_util::expect_expired_message_dead_lettered(*rt, "app:with_dlq", "app:expired");
}

}  // namespace
}  // namespace qplug
