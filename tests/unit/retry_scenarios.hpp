// retry_scenarios.hpp -- retry scenarios run on every driver the runtime
// tests cover (memory in tests/unit, redis and amqp in
// tests/integration/scaleout), so each driver is held to the same promise.
#pragma once

#include <gtest/gtest.h>
#include <qplug/driver.h>

#include <atomic>
#include <chrono>
#include <qplug/runtime.hpp>
#include <string>
#include <thread>

namespace qplug::test_util {

inline bool driver_delays(Runtime& rt, std::string_view queue) {
  for (const RouteInfo& r : rt.routes()) {
    if (r.queue_id == queue) return (r.capabilities & QPLUG_CAP_DELAY) != 0;
  }
  return false;
}

// `queue` must retry with a backoff of minutes. With prefetch 1, a message
// that always fails is followed by 5 good ones: all 5 are handled while the
// failed one waits for its retry at the broker, and that retry counts as
// outstanding (not idle). Skipped on drivers without QPLUG_CAP_DELAY, where
// the backoff is held in memory by design (qplug check reports it).
// The queue entry expect_long_backoff_does_not_stall() expects, `it:tasks`
// on the driver entry `broker`: 5 attempts, 10 minutes between them.
inline std::string long_backoff_queue_yaml(const std::string& unique) {
  return "  - {kind: queue.queue, name: tasks, driver: broker, queue_name: " + unique +
         "-tasks, retry: {max_attempts: 5, initial_backoff: 10m, max_backoff: 10m}}\n";
}

inline void expect_long_backoff_does_not_stall(Runtime& rt, std::string_view queue) {
  if (!driver_delays(rt, queue)) GTEST_SKIP() << "driver without QPLUG_CAP_DELAY: backoff is held in memory";
  std::atomic<int> ok_done{0};
  ConsumerOptions opts;
  opts.prefetch = 1;
  auto sub = rt.subscribe(queue, opts, [&](Delivery& d) {
    auto v = d.payload();
    if (!v.ok()) return v.status();
    if (v->as_string() == "poison") return internal_error("poison");
    ok_done.fetch_add(1);
    return ok_status();
  });
  ASSERT_TRUE(sub.ok()) << sub.status().to_string();
  ASSERT_TRUE(rt.publish(queue, Value("poison")).ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(rt.publish(queue, Value("ok")).ok());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (ok_done.load() < 5 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(ok_done.load(), 5) << "the failed message's backoff stalled the consumer";
  EXPECT_EQ((*sub)->retries_outstanding(), 1) << "the scheduled retry counts as not idle";
  EXPECT_TRUE((*sub)->stop().ok());
}

}  // namespace qplug::test_util
