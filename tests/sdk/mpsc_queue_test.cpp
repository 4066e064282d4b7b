// MpscQueue: many producers, one consumer draining in bulk, bounded capacity.
// Threaded tests use real threads and assert no loss and per-producer order;
// every wait has a deadline that bounds the test, never an expectation.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <qplug/sdk/mpsc_queue.hpp>
#include <thread>
#include <utility>
#include <vector>

using qplug::sdk::MpscQueue;
using Push = MpscQueue<int>::Push;
using Clock = MpscQueue<int>::Clock;

namespace {

constexpr std::chrono::seconds kBound{30};  // bounds a wait; a correct queue never gets near it
Clock::time_point bound() { return Clock::now() + kBound; }
Clock::time_point already_past() { return Clock::now() - std::chrono::seconds(1); }

TEST(MpscQueue, PopAllTakesEverythingInPushOrder) {
  MpscQueue<int> q;
  for (int i = 0; i < 5; ++i) ASSERT_EQ(q.push(i, 1, bound()), Push::ok);
  std::vector<int> out{-1};
  EXPECT_TRUE(q.pop_all(out, bound()));
  EXPECT_EQ(out, (std::vector<int>{-1, 0, 1, 2, 3, 4})) << "pop_all appends";
  out.clear();
  EXPECT_TRUE(q.pop_all(out, already_past())) << "an empty, open queue times out with true";
  EXPECT_TRUE(out.empty());
}

TEST(MpscQueue, AFullQueueRefusesUntilTheDeadline) {
  MpscQueue<int> q(3);
  ASSERT_EQ(q.push(1, 2, bound()), Push::ok);
  EXPECT_EQ(q.push(2, 2, already_past()), Push::full) << "2 + 2 units exceed capacity 3";
  EXPECT_EQ(q.push(3, 1, already_past()), Push::ok) << "2 + 1 fits exactly";
  std::vector<int> out;
  ASSERT_TRUE(q.pop_all(out, bound()));
  EXPECT_EQ(q.push(2, 2, already_past()), Push::ok) << "draining frees the room";
}

TEST(MpscQueue, AnItemHeavierThanTheCapacityEntersAnEmptyQueue) {
  MpscQueue<int> q(10);
  EXPECT_EQ(q.push(1, 100, already_past()), Push::ok);
  EXPECT_EQ(q.push(2, 1, already_past()), Push::full) << "but nothing may join it";
}

TEST(MpscQueue, CloseRefusesPushesButDrainsWhatIsQueued) {
  MpscQueue<int> q;
  ASSERT_EQ(q.push(7, 1, bound()), Push::ok);
  q.close();
  EXPECT_TRUE(q.closed());
  EXPECT_EQ(q.push(8, 1, bound()), Push::closed);
  std::vector<int> out;
  EXPECT_TRUE(q.pop_all(out, bound()));
  EXPECT_EQ(out, std::vector<int>{7});
  out.clear();
  EXPECT_FALSE(q.pop_all(out, bound())) << "closed and empty: the consumer stops";
}

TEST(MpscQueue, CloseWakesABlockedProducer) {
  MpscQueue<int> q(1);
  ASSERT_EQ(q.push(1, 1, bound()), Push::ok);
  std::atomic<int> result{-1};
  std::thread producer([&] { result = static_cast<int>(q.push(2, 1, bound())); });
  q.close();
  producer.join();
  EXPECT_EQ(result.load(), static_cast<int>(Push::closed));
}

TEST(MpscQueue, WakeMakesAWaitingConsumerReturnEmptyHanded) {
  MpscQueue<int> q;
  std::atomic<bool> returned{false};
  bool open = false;
  std::vector<int> out;
  std::thread consumer([&] {
    open = q.pop_all(out, bound());
    returned = true;
  });
  q.wake();
  consumer.join();  // bounded by kBound if wake() were lost
  EXPECT_TRUE(returned.load());
  EXPECT_TRUE(open);
  EXPECT_TRUE(out.empty());
}

// Producers block on a tiny capacity while one consumer drains in bulk: every
// item arrives exactly once and each producer's items arrive in its order.
TEST(MpscQueue, ManyProducersOneConsumerLoseNothingAndKeepOrder) {
  constexpr int kProducers = 4, kEach = 20000;
  MpscQueue<std::pair<int, int>> q(16);
  std::vector<std::thread> producers;
  std::atomic<int> refused{0};
  for (int p = 0; p < kProducers; ++p)
    producers.emplace_back([&, p] {
      for (int i = 0; i < kEach; ++i)
        if (q.push({p, i}, 1, Clock::now() + kBound) != MpscQueue<std::pair<int, int>>::Push::ok) refused++;
    });
  std::vector<int> next(kProducers, 0);
  int total = 0;
  bool in_order = true;
  auto stop = bound();
  std::vector<std::pair<int, int>> batch;
  while (total < kProducers * kEach && Clock::now() < stop) {
    batch.clear();
    ASSERT_TRUE(q.pop_all(batch, Clock::now() + std::chrono::milliseconds(100)));
    for (auto [p, i] : batch) {
      if (i != next[p]) in_order = false;
      next[p] = i + 1;
      ++total;
    }
  }
  for (auto& t : producers) t.join();
  EXPECT_EQ(refused.load(), 0);
  EXPECT_EQ(total, kProducers * kEach);
  EXPECT_TRUE(in_order) << "a producer's items were reordered or lost";
  for (int p = 0; p < kProducers; ++p) EXPECT_EQ(next[p], kEach) << "producer " << p;
}

}  // namespace
