// ttl_scenarios.hpp -- the `ttl` promise (docs/operations.md, "Delay and ttl
// headers") as scenarios run on every driver the runtime tests cover:
// memory in tests/unit/consumer_retry_test.cpp, redis and amqp in
// tests/integration/ttl. An expired message is never handed to a handler;
// an unexpired one is. Where the core does the check (drivers without
// QPLUG_CAP_TTL) the expired one is counted and, with a dead_letter.queue,
// moved there with `x-reason: expired`. Where the broker expires messages
// itself (QPLUG_CAP_TTL: amqp's `expiration`) it drops them before the core
// sees them, so the core's counter may stay 0 (the driver page says so).
#pragma once

#include <gtest/gtest.h>
#include <qplug/driver.h>

#include <chrono>
#include <future>
#include <mutex>
#include <qplug/runtime.hpp>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace qplug::test_util {

inline bool driver_expires_natively(Runtime& rt, std::string_view queue) {
  for (const RouteInfo& r : rt.routes()) {
    if (r.queue_id == queue) return (r.capabilities & QPLUG_CAP_TTL) != 0;
  }
  ADD_FAILURE() << "no route for " << queue;
  return false;
}

// Publishes "stale" with a 1 ms ttl, waits until that is past, publishes
// "fresh" with a ttl of an hour, subscribes, and returns the payloads the
// handler saw once "fresh" arrived (the queue is FIFO, so "stale" came
// first if it came at all), with the subscription's counters.
inline std::vector<std::string> handled_after_expiry(Runtime& rt, std::string_view queue,
                                                     SubscriptionCounters* counters) {
  EXPECT_TRUE(rt.publish(queue, Value("stale"), {{"ttl", std::string("1ms")}}).ok());
  const auto published = std::chrono::system_clock::now();
  while (std::chrono::system_clock::now() - published <= std::chrono::milliseconds(5))
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_TRUE(rt.publish(queue, Value("fresh"), {{"ttl", std::string("1h")}}).ok());
  std::mutex mu;
  std::vector<std::string> seen;
  auto sub = rt.subscribe(queue, {}, [&](Delivery& d) {
    auto v = d.payload();
    std::lock_guard lock(mu);
    seen.push_back(v.ok() ? v->as_string() : "<undecodable>");
    return ok_status();
  });
  EXPECT_TRUE(sub.ok()) << sub.status().to_string();
  if (!sub.ok()) return {};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    {
      std::lock_guard lock(mu);
      if (!seen.empty() && seen.back() == "fresh") break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << "the unexpired message was never handled";
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE((*sub)->stop().ok());
  *counters = (*sub)->counters();
  std::lock_guard lock(mu);
  return seen;
}

// `queue` has no dead_letter.queue: the expired message is dropped (counted
// where the core checks it) and does not land in the core's `<queue>.dead`.
inline void expect_expired_message_dropped(Runtime& rt, std::string_view queue) {
  SubscriptionCounters c;
  EXPECT_EQ(handled_after_expiry(rt, queue, &c), std::vector<std::string>{"fresh"})
      << "an expired message reached the handler";
  EXPECT_EQ(c.processed, 1u);
  EXPECT_EQ(c.dead_lettered, 0u) << "no dead_letter.queue: dropped with a log line";
  if (driver_expires_natively(rt, queue)) {
    EXPECT_LE(c.expired, 1u);  // the broker dropped it first, or the core did
  } else {
    EXPECT_EQ(c.expired, 1u) << "the core's check did not count the expired message";
  }
  auto info = rt.info(std::string(queue) + ".dead");
  ASSERT_TRUE(info.ok()) << info.status().to_string();
  EXPECT_LE(info->messages, 0) << "expired messages do not fill the failure queue";
}

// `queue` has dead_letter.queue `dead_letter`: where the core checks ttl,
// the expired message is moved there with `x-reason: expired` and without
// its ttl; where the broker expires natively, it never reaches the handler.
inline void expect_expired_message_dead_lettered(Runtime& rt, std::string_view queue, std::string_view dead_letter) {
  SubscriptionCounters c;
  EXPECT_EQ(handled_after_expiry(rt, queue, &c), std::vector<std::string>{"fresh"})
      << "an expired message reached the handler";
  if (driver_expires_natively(rt, queue)) return;  // the broker's rules: see the driver's page
  EXPECT_EQ(c.expired, 1u);
  EXPECT_EQ(c.dead_lettered, 1u);
  std::promise<Message> dead;
  std::once_flag once;
  auto sub = rt.subscribe(dead_letter, {}, [&](Delivery& d) {
    std::call_once(once, [&] { dead.set_value(d.message()); });
    return ok_status();
  });
  ASSERT_TRUE(sub.ok()) << sub.status().to_string();
  auto f = dead.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(30)), std::future_status::ready) << "the expired message is not there";
  const Message m = f.get();
  const HeaderValue* reason = find_header(m.headers, "x-reason");
  ASSERT_NE(reason, nullptr);
  ASSERT_NE(std::get_if<std::string>(reason), nullptr);
  EXPECT_EQ(*std::get_if<std::string>(reason), "expired");
  EXPECT_EQ(find_header(m.headers, "ttl"), nullptr) << "the dead-letter copy does not expire";
  for (const auto& [key, value] : m.headers) EXPECT_FALSE(key.starts_with("x-qplug-")) << "core header shown: " << key;
  EXPECT_TRUE((*sub)->stop().ok());
}

}  // namespace qplug::test_util
