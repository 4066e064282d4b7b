// ack_batch_test.cpp -- core's AckBatch: when coalesced acks are due.
#include "runtime/ack_batch.hpp"

#include <gtest/gtest.h>

namespace qplug::detail {
namespace {

using Clock = AckBatch::Clock;
qplug_delivery* fake(uintptr_t n) { return reinterpret_cast<qplug_delivery*>(n); }

TEST(AckBatchTest, EmptyIsNeverDue) {
  AckBatch b;
  const auto t = Clock::now();
  EXPECT_FALSE(b.due(t, t + std::chrono::seconds(10)));
}

TEST(AckBatchTest, DueAtMaxCount) {
  AckBatch b;
  const auto t = Clock::now();
  for (size_t i = 0; i + 1 < AckBatch::kMaxCount; ++i) {
    b.add(fake(i + 1));
    EXPECT_FALSE(b.due(t, t)) << i;
  }
  b.add(fake(AckBatch::kMaxCount));
  EXPECT_TRUE(b.due(t, t));
  EXPECT_EQ(b.handles().size(), AckBatch::kMaxCount);
}

TEST(AckBatchTest, DueWhenTheOldestWaitedMaxDelay) {
  AckBatch b;
  const auto t = Clock::now();
  b.add(fake(1));
  EXPECT_FALSE(b.due(t, t)) << "dated at its first due() call";
  EXPECT_FALSE(b.due(t + AckBatch::kMaxDelay / 2, t + AckBatch::kMaxDelay / 2));
  EXPECT_TRUE(b.due(t + AckBatch::kMaxDelay, t + AckBatch::kMaxDelay));
}

TEST(AckBatchTest, DueAfterASlowHandlerAndClearResets) {
  AckBatch b;
  const auto t = Clock::now();
  b.add(fake(1));
  EXPECT_TRUE(b.due(t, t + AckBatch::kSlowHandler));
  b.clear();
  EXPECT_TRUE(b.empty());
  b.add(fake(2));
  const auto later = t + std::chrono::seconds(1);
  EXPECT_FALSE(b.due(later, later)) << "clear() forgets the old date";
}

}  // namespace
}  // namespace qplug::detail
