// retry_bookkeeping_test.cpp -- core's DelayedRequeue (backoff held on a
// driver without QPLUG_CAP_DELAY), RetryLedger (idle detection),
// RateLimitedLog (failure lines) and the core headers (delay/ttl/attempts).
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime/core_headers.hpp"
#include "runtime/delayed_requeue.hpp"
#include "runtime/rate_limited_log.hpp"
#include "runtime/retry_ledger.hpp"

namespace qplug::detail {
namespace {

using namespace std::chrono_literals;

// A vtable whose settle records what DelayedRequeue does (the requeue is
// the only op it calls).
std::mutex g_mu;
std::vector<std::pair<uintptr_t, int32_t>> g_settled;
int32_t record_settle(qplug_delivery* d, int32_t disposition, qplug_status*) {
  std::lock_guard lock(g_mu);
  g_settled.emplace_back(reinterpret_cast<uintptr_t>(d), disposition);
  return QPLUG_OK;
}
size_t settled_count() {
  std::lock_guard lock(g_mu);
  return g_settled.size();
}

TEST(DelayedRequeueTest, RequeuesInDueOrderAndFlushReturnsTheRest) {
  g_settled.clear();
  qplug_driver_v1 vt{};
  vt.settle = record_settle;
  DelayedRequeue dr(&vt);
  dr.schedule(reinterpret_cast<qplug_delivery*>(2), 20ms);
  dr.schedule(reinterpret_cast<qplug_delivery*>(1), 1ms);
  dr.schedule(reinterpret_cast<qplug_delivery*>(3), std::chrono::hours(1));
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (settled_count() < 2 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  ASSERT_EQ(settled_count(), 2u);
  {
    std::lock_guard lock(g_mu);
    EXPECT_EQ(g_settled[0], std::make_pair(uintptr_t{1}, int32_t{QPLUG_NACK_REQUEUE}));
    EXPECT_EQ(g_settled[1].first, 2u);
  }
  dr.flush();  // the hour-long one is not held past stop()
  ASSERT_EQ(settled_count(), 3u);
  dr.schedule(reinterpret_cast<qplug_delivery*>(4), std::chrono::hours(1));
  EXPECT_EQ(settled_count(), 4u) << "after flush() a schedule requeues at once";
}

TEST(RetryLedgerTest, OutstandingUntilDeliveredOrGracePassed) {
  RetryLedger ledger(10s);
  const auto now = RetryLedger::Clock::now();
  ledger.scheduled("a", now + 1min);
  ledger.scheduled("b", now);
  EXPECT_EQ(ledger.outstanding(now), 2);
  ledger.delivered("a");
  EXPECT_EQ(ledger.outstanding(now), 1);
  EXPECT_EQ(ledger.outstanding(now + 11s), 0) << "another process took b: forgotten after the grace";
  ledger.delivered("unknown");  // harmless
}

TEST(RateLimitedLogTest, WritesAtMostNPerSecondThenReportsSuppressed) {
  RateLimitedLog log("test");
  const auto t = RateLimitedLog::Clock::now();
  int written = 0;
  for (int i = 0; i < 100; ++i) written += log.write(QPLUG_LOG_DEBUG, "line", t) ? 1 : 0;
  EXPECT_EQ(written, RateLimitedLog::kLinesPerSecond);
  EXPECT_EQ(log.suppressed(), 100u - RateLimitedLog::kLinesPerSecond);
  EXPECT_TRUE(log.write(QPLUG_LOG_DEBUG, "line", t + 1s)) << "a new window";
  EXPECT_EQ(log.suppressed(), 0u) << "reported with the first line of the new window";
}

TEST(CoreHeadersTest, TakeCoreHeadersHidesThemAndReadsTheirValues) {
  Headers h = {{"a", std::string("1")},
               {"x-qplug-prior-attempts", int64_t{3}},
               {"x-qplug-expires-at", int64_t{12345}},
               {"x-qplug-future", true}};
  const CoreHeaderValues v = take_core_headers(&h);
  EXPECT_EQ(v.prior_attempts, 3u);
  EXPECT_EQ(v.expires_at_ms, 12345);
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].first, "a");
}

TEST(CoreHeadersTest, DurationsAreMillisecondsOrDurationStrings) {
  EXPECT_EQ(header_duration_ms(HeaderValue(int64_t{0})), 0);
  EXPECT_EQ(header_duration_ms(HeaderValue(int64_t{250})), 250);
  EXPECT_EQ(header_duration_ms(HeaderValue(std::string("1.5s"))), 1500);
  EXPECT_EQ(header_duration_ms(HeaderValue(std::string("2m"))), 120000);
  EXPECT_FALSE(header_duration_ms(HeaderValue(int64_t{-1})));
  EXPECT_FALSE(header_duration_ms(HeaderValue(std::string("soon"))));
  EXPECT_FALSE(header_duration_ms(HeaderValue(true)));
  EXPECT_FALSE(header_duration_ms(HeaderValue(1.5)));
}

}  // namespace
}  // namespace qplug::detail
