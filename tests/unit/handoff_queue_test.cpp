// handoff_queue_test.cpp -- core's HandoffQueue (driver thread -> workers):
// fair batches, close() ends intake without losing items, give_back() and
// drain() account for every item exactly once.
#include "runtime/handoff_queue.hpp"

#include <gtest/gtest.h>

#include <set>
#include <thread>

namespace qplug::detail {
namespace {

qplug_delivery* fake(uintptr_t n) { return reinterpret_cast<qplug_delivery*>(n); }

TEST(HandoffQueueTest, WorkersSplitABurstIntoFairShares) {
  HandoffQueue q;
  for (uintptr_t i = 1; i <= 10; ++i) q.push({fake(i), nullptr});
  std::vector<HandoffItem> batch;
  ASSERT_TRUE(q.pop_batch(&batch, 3));
  EXPECT_EQ(batch.size(), 4u);  // ceil(10 / 3)
  EXPECT_EQ(batch.front().delivery, fake(1)) << "FIFO";
  ASSERT_TRUE(q.pop_batch(&batch, 3));
  EXPECT_EQ(batch.size(), 2u);  // ceil(6 / 3)
  EXPECT_EQ(batch.front().delivery, fake(5));
}

TEST(HandoffQueueTest, CloseWakesASleepingWorkerAndKeepsItems) {
  HandoffQueue q;
  std::vector<HandoffItem> batch;
  std::thread worker([&] { EXPECT_FALSE(q.pop_batch(&batch, 1)); });
  q.close();
  worker.join();
  EXPECT_TRUE(q.closed());
  q.push({fake(1), nullptr});  // a late delivery is still stored for stop()'s drain
  std::vector<HandoffItem> rest = q.drain();
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].delivery, fake(1));
}

TEST(HandoffQueueTest, GiveBackGoesInFrontUntilDrained) {
  HandoffQueue q;
  q.push({fake(3), nullptr});
  const HandoffItem back[] = {{fake(1), nullptr}, {fake(2), nullptr}};
  EXPECT_TRUE(q.give_back(back, 2));
  std::vector<HandoffItem> all = q.drain();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].delivery, fake(1));
  EXPECT_EQ(all[2].delivery, fake(3));
  EXPECT_FALSE(q.give_back(back, 2)) << "after drain() the caller must settle them itself";
}

TEST(HandoffQueueTest, ConcurrentProducerAndWorkersSeeEveryItemOnce) {
  HandoffQueue q;
  constexpr uintptr_t kItems = 20000;
  std::mutex mu;
  std::multiset<uintptr_t> seen;
  std::vector<std::thread> workers;
  for (int w = 0; w < 3; ++w) {
    workers.emplace_back([&] {
      std::vector<HandoffItem> batch;
      while (q.pop_batch(&batch, 3)) {
        std::lock_guard lock(mu);
        for (const HandoffItem& it : batch) seen.insert(reinterpret_cast<uintptr_t>(it.delivery));
      }
    });
  }
  for (uintptr_t i = 1; i <= kItems; ++i) q.push({fake(i), nullptr});
  while (true) {
    {
      std::lock_guard lock(mu);
      if (seen.size() >= kItems) break;
    }
    std::this_thread::yield();
  }
  q.close();
  for (auto& t : workers) t.join();
  EXPECT_EQ(seen.size(), kItems);
  EXPECT_EQ(std::set<uintptr_t>(seen.begin(), seen.end()).size(), kItems) << "no item twice";
  EXPECT_TRUE(q.drain().empty());
}

}  // namespace
}  // namespace qplug::detail
