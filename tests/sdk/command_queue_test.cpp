// CommandQueue: commands for a driver's I/O thread with an eventfd wakeup.
// The threaded test runs a real poll() loop like a driver's I/O thread and
// asserts no loss, per-producer order and no lost wakeup.
#include <gtest/gtest.h>
#include <poll.h>

#include <chrono>
#include <memory>
#include <qplug/sdk/command_queue.hpp>
#include <thread>
#include <utility>
#include <vector>

using qplug::sdk::CommandQueue;

namespace {

bool readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN) != 0;
}

TEST(CommandQueue, PushMakesTheFdReadableAndDrainClearsIt) {
  CommandQueue<int> q;
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(readable(q.wakeup_fd(), 0));
  q.push(1);
  q.push(2);
  EXPECT_FALSE(q.empty());
  EXPECT_TRUE(readable(q.wakeup_fd(), 0));
  EXPECT_EQ(q.drain(), (std::vector<int>{1, 2}));
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(readable(q.wakeup_fd(), 0)) << "drain must re-arm the wakeup";
  EXPECT_TRUE(q.drain().empty());
}

TEST(CommandQueue, WakeWithoutACommand) {
  CommandQueue<int> q;
  q.wake();
  q.wake();
  EXPECT_TRUE(readable(q.wakeup_fd(), 0));
  EXPECT_TRUE(q.drain().empty());
  EXPECT_FALSE(readable(q.wakeup_fd(), 0));
}

TEST(CommandQueue, MoveOnlyCommands) {
  CommandQueue<std::unique_ptr<int>> q;
  q.push(std::make_unique<int>(5));
  auto got = q.drain();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(*got[0], 5);
}

// Producers push while an I/O thread sleeps in poll() on the wakeup fd only.
// A lost wakeup would leave commands queued while poll() waits: the loop
// below gives up only after a long bound, so a lost wakeup fails the test.
TEST(CommandQueue, ManyProducersOneIoThreadLoseNothingAndKeepOrder) {
  constexpr int kProducers = 4, kEach = 20000;
  CommandQueue<std::pair<int, int>> q;
  std::vector<int> next(kProducers, 0);
  int total = 0;
  bool in_order = true;
  int idle_polls = 0;  // consecutive 5 s polls without a wakeup: a lost wakeup
  std::thread io([&] {
    while (total < kProducers * kEach && idle_polls < 6) {
      if (!readable(q.wakeup_fd(), 5000)) {
        ++idle_polls;
        continue;
      }
      idle_polls = 0;
      for (auto [p, i] : q.drain()) {
        if (i != next[p]) in_order = false;
        next[p] = i + 1;
        ++total;
      }
    }
  });
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p)
    producers.emplace_back([&, p] {
      for (int i = 0; i < kEach; ++i) q.push({p, i});
    });
  for (auto& t : producers) t.join();
  io.join();
  EXPECT_EQ(total, kProducers * kEach) << "commands left behind: a wakeup was lost";
  EXPECT_TRUE(in_order);
  EXPECT_TRUE(q.empty());
}

}  // namespace
