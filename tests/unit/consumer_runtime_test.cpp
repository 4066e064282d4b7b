// consumer_runtime_test.cpp -- the consumer runtime through Runtime::subscribe
// on the real memory plugin: delivery, typed headers, prefetch bound,
// settlement, redelivery, dead-lettering and graceful stop without loss.
#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "runtime_test_util.hpp"

namespace qplug {
namespace {

using test_util::eventually;
using test_util::kBaseYaml;
using test_util::make_runtime;
using ::testing::HasSubstr;

QueueInfo info_of(Runtime& rt, std::string_view id) {
  auto info = rt.info(id);
  EXPECT_TRUE(info.ok()) << info.status().to_string();
  return info.ok() ? *info : QueueInfo{};
}

bool drained(Runtime& rt, std::string_view id) {
  QueueInfo i = info_of(rt, id);
  return i.messages == 0 && i.in_flight == 0;
}

// A gate handlers wait on until the test opens it.
class Gate {
 public:
  void wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return open_; });
  }
  void open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

TEST(ConsumerRuntimeTest, DeliversPayloadIdAndTypedHeaders) {
  auto rt = make_runtime(kBaseYaml);
  ASSERT_TRUE(rt);
  const Value data = Map{{"action", "send_email"}, {"user_id", 456}, {"template", "welcome"}};
  const Headers headers = {
      {"priority", std::string("high")}, {"retries", int64_t{3}}, {"ratio", 0.5}, {"urgent", true}};
  std::promise<std::pair<Message, Value>> got;
  auto sub = rt->subscribe("app:tasks", {}, [&](Delivery& d) {
    auto payload = d.payload();
    if (!payload.ok()) return payload.status();
    got.set_value({d.message(), *payload});
    return ok_status();
  });
  ASSERT_TRUE(sub.ok()) << sub.status().to_string();
  ASSERT_TRUE(rt->publish("app:tasks", data, headers).ok());
  auto [msg, payload] = got.get_future().get();
  EXPECT_EQ(payload, data);
  EXPECT_EQ(msg.id.size(), 36u);
  EXPECT_EQ(msg.content_type, "application/json");
  EXPECT_EQ(msg.attempts, 1u);
  ASSERT_NE(find_header(msg.headers, "priority"), nullptr);
  EXPECT_EQ(*find_header(msg.headers, "priority"), HeaderValue(std::string("high")));
  EXPECT_EQ(*find_header(msg.headers, "retries"), HeaderValue(int64_t{3}));
  EXPECT_EQ(*find_header(msg.headers, "ratio"), HeaderValue(0.5));
  EXPECT_EQ(*find_header(msg.headers, "urgent"), HeaderValue(true));
  ASSERT_TRUE((*sub)->stop().ok());
  EXPECT_TRUE(drained(*rt, "app:tasks"));
  EXPECT_EQ((*sub)->processed(), 1u);
}

TEST(ConsumerRuntimeTest, MsgpackQueueRoundTrips) {
  auto rt = make_runtime(kBaseYaml);
  ASSERT_TRUE(rt);
  const Value data = Map{{"n", 1}, {"list", Array{1, "two", 3.5}}};
  std::promise<Value> got;
  auto sub = rt->subscribe("app:packed", {}, [&](Delivery& d) {
    got.set_value(d.payload().value());
    return ok_status();
  });
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(rt->publish("app:packed", data).ok());
  EXPECT_EQ(got.get_future().get(), data);
}

TEST(ConsumerRuntimeTest, ConcurrencyNeverExceedsPrefetchInFlight) {
  auto rt = make_runtime(kBaseYaml);
  ASSERT_TRUE(rt);
  constexpr int kMessages = 60;
  constexpr int kPrefetch = 3;
  std::atomic<int> in_flight{0}, max_in_flight{0}, handled{0};
  ConsumerOptions opts;
  opts.concurrency = 6;
  opts.prefetch = kPrefetch;
  auto sub = rt->subscribe("app:tasks", opts, [&](Delivery&) {
    const int now = in_flight.fetch_add(1) + 1;
    int prev = max_in_flight.load();
    while (now > prev && !max_in_flight.compare_exchange_weak(prev, now)) {
    }
    std::this_thread::yield();
    in_flight.fetch_sub(1);
    handled.fetch_add(1);
    return ok_status();
  });
  ASSERT_TRUE(sub.ok());
  for (int i = 0; i < kMessages; ++i) ASSERT_TRUE(rt->publish("app:tasks", Value(i)).ok());
  ASSERT_TRUE(eventually([&] { return handled.load() == kMessages; }));
  EXPECT_LE(max_in_flight.load(), kPrefetch);
  EXPECT_GE(max_in_flight.load(), 1);
}

TEST(ConsumerRuntimeTest, SettlementIsSingleShot) {
  auto rt = make_runtime(kBaseYaml);
  ASSERT_TRUE(rt);
  std::promise<std::vector<Status>> got;
  auto sub = rt->subscribe("app:tasks", {}, [&](Delivery& d) {
    std::vector<Status> results;
    results.push_back(d.ack());
    results.push_back(d.ack());
    results.push_back(d.nack("late"));
    got.set_value(std::move(results));
    return ok_status();
  });
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(rt->publish("app:tasks", Value("once")).ok());
  auto results = got.get_future().get();
  EXPECT_TRUE(results[0].ok()) << results[0].to_string();
  for (int i : {1, 2}) {
    EXPECT_EQ(results[i].kind(), ErrorKind::INVALID);
    EXPECT_EQ(results[i].message(), "already settled");
  }
  ASSERT_TRUE(eventually([&] { return drained(*rt, "app:tasks"); }));
}

TEST(ConsumerRuntimeTest, HandlerExceptionNacksAndRedeliversWithAttemptsPlusOne) {
  auto rt = make_runtime(kBaseYaml);
  ASSERT_TRUE(rt);
  std::mutex mu;
  std::vector<uint32_t> attempts;
  std::atomic<bool> done{false};
  auto sub = rt->subscribe("app:tasks", {}, [&](Delivery& d) -> Status {
    {
      std::lock_guard<std::mutex> lock(mu);
      attempts.push_back(d.attempts());
    }
    if (d.attempts() == 1) throw std::runtime_error("first try fails");
    done = true;
    return ok_status();
  });
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(rt->publish("app:tasks", Value("flaky")).ok());
  ASSERT_TRUE(eventually([&] { return done.load(); }));
  ASSERT_TRUE((*sub)->stop().ok());
  EXPECT_EQ(attempts, (std::vector<uint32_t>{1, 2}));
  EXPECT_TRUE(drained(*rt, "app:tasks"));
}

const char* kDeadLetterYaml = R"(
version: 1
namespace: app
entries:
  - {kind: queue.driver.memory, name: mem}
  - kind: queue.queue
    name: tasks
    driver: mem
    dead_letter: {queue: dlq, max_attempts: 3}
    retry: {initial_backoff: 1ms, max_backoff: 4ms}
  - {kind: queue.queue, name: dlq, driver: mem}
)";

TEST(ConsumerRuntimeTest, DeadLettersAfterMaxAttemptsWithLastError) {
  auto rt = make_runtime(kDeadLetterYaml);
  ASSERT_TRUE(rt);
  std::atomic<int> calls{0};
  auto sub = rt->subscribe("app:tasks", {}, [&](Delivery& d) {
    calls.fetch_add(1);
    return internal_error("boom at attempt " + std::to_string(d.attempts()));
  });
  ASSERT_TRUE(sub.ok());
  std::promise<Message> dead;
  auto dlq = rt->subscribe("app:dlq", {}, [&](Delivery& d) {
    dead.set_value(d.message());
    return ok_status();
  });
  ASSERT_TRUE(dlq.ok());
  ASSERT_TRUE(rt->publish("app:tasks", Map{{"to", "a@b.c"}}, {{"correlation_id", std::string("c-1")}}).ok());
  Message m = dead.get_future().get();
  EXPECT_EQ(calls.load(), 3);
  EXPECT_EQ(*find_header(m.headers, "x-last-error"), HeaderValue(std::string("boom at attempt 3")));
  EXPECT_EQ(*find_header(m.headers, "x-original-queue"), HeaderValue(std::string("app:tasks")));
  EXPECT_EQ(*find_header(m.headers, "x-attempts"), HeaderValue(int64_t{3}));
  EXPECT_EQ(*find_header(m.headers, "correlation_id"), HeaderValue(std::string("c-1")));
  EXPECT_EQ(m.body, R"({"to":"a@b.c"})");
  ASSERT_TRUE((*sub)->stop().ok());
  EXPECT_TRUE(drained(*rt, "app:tasks"));
}

TEST(ConsumerRuntimeTest, GracefulStopReturnsPrefetchedMessagesAndLosesNone) {
  auto rt = make_runtime(kBaseYaml);
  ASSERT_TRUE(rt);
  constexpr int kMessages = 20;
  constexpr int kPrefetch = 8;
  for (int i = 0; i < kMessages; ++i) ASSERT_TRUE(rt->publish("app:tasks", Value(i)).ok());

  std::mutex mu;
  std::multiset<int64_t> seen;
  auto record = [&](Delivery& d) {
    std::lock_guard<std::mutex> lock(mu);
    seen.insert(d.payload().value().as_int());
  };
  Gate gate;
  ConsumerOptions opts;
  opts.prefetch = kPrefetch;
  auto first = rt->subscribe("app:tasks", opts, [&](Delivery& d) {
    gate.wait();  // hold the worker so the rest of the prefetch window waits in the hand-off queue
    record(d);
    return ok_status();
  });
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(eventually([&] { return info_of(*rt, "app:tasks").in_flight == kPrefetch; }));
  auto stopped = std::async(std::launch::async, [&] { return (*first)->stop(); });
  gate.open();
  ASSERT_TRUE(stopped.get().ok());
  const auto after_stop = info_of(*rt, "app:tasks");
  EXPECT_EQ(after_stop.in_flight, 0);
  EXPECT_EQ(after_stop.messages, kMessages - static_cast<int64_t>((*first)->processed()));
  EXPECT_EQ(after_stop.consumers, 0);

  auto second = rt->subscribe("app:tasks", opts, [&](Delivery& d) {
    record(d);
    return ok_status();
  });
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(eventually([&] {
    std::lock_guard<std::mutex> lock(mu);
    return seen.size() == kMessages;
  }));
  ASSERT_TRUE((*second)->stop().ok());
  for (int i = 0; i < kMessages; ++i) EXPECT_EQ(seen.count(i), 1u) << "message " << i;
  EXPECT_TRUE(drained(*rt, "app:tasks"));
}

// A worker still in its handler when stop() gives up (shutdown_timeout 0)
// may hold more of its batch: once the handler returns it runs none of them
// and settles them itself (stop() has drained the hand-off queue already).
TEST(ConsumerRuntimeTest, StragglerAfterStopTimeoutReturnsTheRestOfItsBatch) {
  auto rt = make_runtime(kBaseYaml);
  ASSERT_TRUE(rt);
  constexpr int kMessages = 20;
  for (int i = 0; i < kMessages; ++i) ASSERT_TRUE(rt->publish("app:tasks", Value(i)).ok());

  Gate gate;
  std::atomic<int> entered{0}, handled{0};
  ConsumerOptions opts;
  opts.prefetch = 8;
  opts.shutdown_timeout = std::chrono::milliseconds(0);
  auto sub = rt->subscribe("app:tasks", opts, [&](Delivery&) {
    entered.fetch_add(1);
    gate.wait();
    handled.fetch_add(1);
    return ok_status();
  });
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(eventually([&] { return entered.load() == 1 && info_of(*rt, "app:tasks").in_flight == 8; }));
  EXPECT_EQ((*sub)->stop().kind(), ErrorKind::TIMEOUT);
  gate.open();
  // Unsubscribing gave every unsettled message back already; the straggler
  // finishes the one handler it was in and settles the rest of its batch
  // (the driver answers CANCELED: the broker has them) without running them.
  ASSERT_TRUE(eventually([&] { return handled.load() == 1; }));
  ASSERT_TRUE(eventually([&] { return (*sub)->running() == 0; }));
  EXPECT_EQ(handled.load(), 1);
  const QueueInfo after = info_of(*rt, "app:tasks");
  EXPECT_EQ(after.in_flight, 0);
  EXPECT_EQ(after.messages, kMessages);
}

TEST(ConsumerRuntimeTest, AutoAckSettlesBeforeTheHandler) {
  auto rt = make_runtime(kBaseYaml);
  ASSERT_TRUE(rt);
  std::promise<std::pair<bool, Status>> got;
  ConsumerOptions opts;
  opts.auto_ack = true;
  auto sub = rt->subscribe("app:tasks", opts, [&](Delivery& d) {
    got.set_value({d.settled(), d.ack()});
    return internal_error("fails after auto-ack: not retried");
  });
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(rt->publish("app:tasks", Value(1)).ok());
  auto [settled, second_ack] = got.get_future().get();
  EXPECT_TRUE(settled);
  EXPECT_EQ(second_ack.message(), "already settled");
  ASSERT_TRUE((*sub)->stop().ok());
  EXPECT_EQ((*sub)->processed(), 1u);
  EXPECT_TRUE(drained(*rt, "app:tasks"));
}

TEST(ConsumerRuntimeTest, HandlerFactoryRunsPerWorkerAndFailuresAreReported) {
  auto rt = make_runtime(kBaseYaml);
  ASSERT_TRUE(rt);
  std::mutex mu;
  std::set<std::thread::id> factory_threads;
  ConsumerOptions opts;
  opts.concurrency = 3;
  auto sub = rt->subscribe("app:tasks", opts, [&](int) -> Result<Handler> {
    std::lock_guard<std::mutex> lock(mu);
    factory_threads.insert(std::this_thread::get_id());
    return Handler([](Delivery&) { return ok_status(); });
  });
  ASSERT_TRUE(sub.ok());
  EXPECT_EQ(factory_threads.size(), 3u);
  EXPECT_EQ(factory_threads.count(std::this_thread::get_id()), 0u);

  auto bad = rt->subscribe("app:tasks", opts, [](int i) -> Result<Handler> {
    if (i == 1) return invalid_error("no interpreter for worker");
    return Handler([](Delivery&) { return ok_status(); });
  });
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("no interpreter for worker"));

  opts.prefetch = 0;
  EXPECT_EQ(rt->subscribe("app:tasks", opts, [](Delivery&) { return ok_status(); }).status().kind(),
            ErrorKind::INVALID);
}

TEST(ConsumerRuntimeTest, RuntimeStopStopsSubscriptionsAndIsIdempotent) {
  auto rt = make_runtime(kBaseYaml);
  ASSERT_TRUE(rt);
  auto sub = rt->subscribe("app:tasks", {}, [](Delivery&) { return ok_status(); });
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(rt->publish("app:tasks", Value(1)).ok());
  rt->stop();
  rt->stop();
  EXPECT_TRUE((*sub)->stop().ok());
  EXPECT_EQ(rt->subscribe("app:tasks", {}, [](Delivery&) { return ok_status(); }).status().kind(), ErrorKind::CANCELED);
}

}  // namespace
}  // namespace qplug
