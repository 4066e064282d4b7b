// Backoff: the reconnect delay every network driver uses. The jitter is random,
// so the tests assert the bounds that hold for every draw, over many draws.
#include <gtest/gtest.h>

#include <qplug/sdk/backoff.hpp>

using qplug::sdk::Backoff;

namespace {

constexpr int kDraws = 2000;  // enough draws that a wrong bound shows up

TEST(Backoff, EachDelayLiesBetweenHalfTheCapAndTheCap) {
  Backoff b(100, 10000);
  const int64_t caps[] = {100, 200, 400, 800, 1600, 3200, 6400, 10000, 10000, 10000};
  for (int64_t cap : caps) {
    int64_t d = b.next_ms();
    EXPECT_GE(d, cap / 2) << "cap " << cap;
    EXPECT_LE(d, cap) << "cap " << cap;
  }
  EXPECT_EQ(b.failures(), 10u);
}

TEST(Backoff, NeverExceedsTheMaximumEvenAfterManyFailures) {
  Backoff b(1, 5000);
  for (int i = 0; i < kDraws; ++i) ASSERT_LE(b.next_ms(), 5000);
  EXPECT_GE(b.next_ms(), 2500) << "at the cap the floor is half the maximum";
}

TEST(Backoff, ResetStartsOverFromTheInitialDelay) {
  Backoff b(100, 10000);
  for (int i = 0; i < 20; ++i) b.next_ms();
  b.reset();
  EXPECT_EQ(b.failures(), 0u);
  int64_t d = b.next_ms();
  EXPECT_GE(d, 50);
  EXPECT_LE(d, 100);
}

TEST(Backoff, NonsenseBoundsAreClampedInsteadOfMisbehaving) {
  Backoff zero(0, 0);  // initial < 1 becomes 1; max below initial becomes initial
  Backoff inverted(500, 10);
  for (int i = 0; i < 100; ++i) {
    EXPECT_LE(zero.next_ms(), 1);
    int64_t d = inverted.next_ms();
    EXPECT_GE(d, 250);
    EXPECT_LE(d, 500);
  }
}

// A zero delay would turn a reconnect loop into a busy spin against a dead
// broker; the floor must hold even for the smallest caps.
TEST(Backoff, NeverReturnsZero) {
  Backoff b(1, 1);
  for (int i = 0; i < kDraws; ++i) ASSERT_GE(b.next_ms(), 1);
}

TEST(Backoff, JitterSpreadsDelays) {
  Backoff b(1000, 1000);
  int64_t lo = INT64_MAX, hi = 0;
  for (int i = 0; i < kDraws; ++i) {
    int64_t d = b.next_ms();
    lo = std::min(lo, d);
    hi = std::max(hi, d);
  }
  EXPECT_LT(lo, hi) << "every client would reconnect at the same instant";
}

}  // namespace
