// spin_lock.hpp: lock_spinning() must be a real mutual exclusion on a plain
// std::mutex, interoperate with lock_guard and condition_variable, and block
// (not give up) when the holder keeps the lock past the spin.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <qplug/sdk/spin_lock.hpp>
#include <thread>
#include <vector>

using qplug::sdk::lock_spinning;

namespace {

TEST(SpinLock, ReturnsAnOwningLock) {
  std::mutex mu;
  {
    auto lock = lock_spinning(mu);
    EXPECT_TRUE(lock.owns_lock());
    EXPECT_EQ(lock.mutex(), &mu);
    EXPECT_FALSE(mu.try_lock()) << "the mutex must really be held";
  }
  EXPECT_TRUE(mu.try_lock()) << "the lock releases on scope exit";
  mu.unlock();
}

// Without mutual exclusion the non-atomic counter loses increments.
TEST(SpinLock, ThreadsMixingSpinningAndPlainLocksExcludeEachOther) {
  constexpr int kThreads = 4, kEach = 50000;
  std::mutex mu;
  long counter = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        if (t % 2 == 0) {
          auto lock = lock_spinning(mu);
          ++counter;
        } else {
          std::lock_guard lock(mu);
          ++counter;
        }
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(counter, static_cast<long>(kThreads) * kEach);
}

// The holder keeps the lock far past the spin: the waiter must sleep and then
// get it, never enter early. `released` is set under the lock before unlocking,
// so a waiter that got in early would see it false.
TEST(SpinLock, BlocksPastTheSpinUntilTheHolderReleases) {
  std::mutex mu;
  bool released = false;
  std::atomic<bool> waiter_started{false};
  bool saw_release = false;
  std::unique_lock holder(mu);
  std::thread waiter([&] {
    waiter_started = true;
    auto lock = lock_spinning(mu);
    saw_release = released;
  });
  while (!waiter_started.load()) std::this_thread::yield();
  for (int i = 0; i < 1000; ++i) std::this_thread::yield();  // let it exhaust the spin
  released = true;
  holder.unlock();
  waiter.join();
  EXPECT_TRUE(saw_release);
}

TEST(SpinLock, WorksWithAConditionVariable) {
  std::mutex mu;
  std::condition_variable cv;
  bool ready = false;
  std::thread producer([&] {
    auto lock = lock_spinning(mu);
    ready = true;
    cv.notify_one();
  });
  {
    auto lock = lock_spinning(mu);
    cv.wait(lock, [&] { return ready; });  // waiting with a lock_spinning lock
    EXPECT_TRUE(ready);
  }
  producer.join();
}

}  // namespace
