// The amqp driver's ack coalescing (plugins/amqp/amqp_ack_coalescer.hpp),
// without a broker: when held acks fall due and which basic.ack frames
// cover them. A wrong frame here acks a message the host has not settled
// (lost on a crash) or leaves one unacked (redelivered forever).
#include "amqp_ack_coalescer.hpp"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace qplug::amqp {
namespace {

using Frame = AckCoalescer::Frame;

std::vector<std::pair<uint64_t, bool>> frames_of(const std::vector<Frame>& fs) {
  std::vector<std::pair<uint64_t, bool>> out;
  for (const Frame& f : fs) out.emplace_back(f.tag, f.multiple);
  return out;
}

TEST(AckCoalescer, SettledPrefixIsOneMultipleAck) {
  std::set<uint64_t> unsettled = {1, 2, 3, 4, 5};
  AckCoalescer acks;
  for (uint64_t t : {3, 1, 2}) acks.add(t, 0);  // settled out of order
  const auto fs = frames_of(acks.take(unsettled));
  ASSERT_EQ(fs.size(), 1u);
  EXPECT_EQ(fs[0], std::make_pair(uint64_t{3}, true)) << "1..3 in one multiple-ack";
  EXPECT_EQ(unsettled, (std::set<uint64_t>{4, 5}));
  EXPECT_TRUE(acks.empty());
}

TEST(AckCoalescer, TagsAboveAnOpenDeliveryAreAckedOneByOne) {
  std::set<uint64_t> unsettled = {1, 2, 3, 4, 5};
  AckCoalescer acks;
  for (uint64_t t : {1, 2, 4, 5}) acks.add(t, 0);  // 3 is still with the host
  const auto fs = frames_of(acks.take(unsettled));
  // A multiple-ack up to 4 or 5 would ack 3, which the host has not settled.
  const std::vector<std::pair<uint64_t, bool>> want = {{4, false}, {5, false}, {2, true}};
  EXPECT_EQ(fs, want);
  EXPECT_EQ(unsettled, (std::set<uint64_t>{3}));
}

TEST(AckCoalescer, ASingleSettledTagIsNotAMultipleAck) {
  std::set<uint64_t> unsettled = {7, 8};
  AckCoalescer acks;
  acks.add(7, 0);
  const auto fs = frames_of(acks.take(unsettled));
  ASSERT_EQ(fs.size(), 1u);
  EXPECT_EQ(fs[0], std::make_pair(uint64_t{7}, false));
  EXPECT_EQ(unsettled, (std::set<uint64_t>{8}));
}

TEST(AckCoalescer, NothingHeldIsNeverDueAndTakesNoFrame) {
  std::set<uint64_t> unsettled = {1};
  AckCoalescer acks;
  EXPECT_FALSE(acks.due(1, 10, AckCoalescer::kDelayNs * 100));
  EXPECT_TRUE(acks.take(unsettled).empty());
  EXPECT_EQ(unsettled.size(), 1u);
}

TEST(AckCoalescer, DueWhenAllSettledPrefetchFullAQuarterSettledOrAfterTheDelay) {
  AckCoalescer acks;
  acks.add(1, 1000);
  // Held: 1 of 10 unsettled, prefetch 100, within the delay: not yet.
  EXPECT_FALSE(acks.due(10, 100, 1000));
  EXPECT_TRUE(acks.due(1, 100, 1000)) << "every delivery in flight is settled";
  EXPECT_TRUE(acks.due(100, 100, 1000)) << "the prefetch is used up: the broker waits on these acks";
  EXPECT_TRUE(acks.due(10, 4, 1000)) << "a quarter of prefetch 4 is settled";
  EXPECT_FALSE(acks.due(10, 100, 1000 + AckCoalescer::kDelayNs - 1));
  EXPECT_TRUE(acks.due(10, 100, 1000 + AckCoalescer::kDelayNs)) << "held no longer than kDelayNs";
}

TEST(AckCoalescer, TheDelayCountsFromTheOldestHeldAck) {
  AckCoalescer acks;
  acks.add(1, 0);
  acks.add(2, AckCoalescer::kDelayNs - 1);
  EXPECT_TRUE(acks.due(10, 100, AckCoalescer::kDelayNs));
  std::set<uint64_t> unsettled = {1, 2, 3};
  (void)acks.take(unsettled);
  acks.add(3, 5 * AckCoalescer::kDelayNs);
  EXPECT_FALSE(acks.due(10, 100, 5 * AckCoalescer::kDelayNs + 1)) << "a new round starts a new delay";
}

TEST(AckCoalescer, ClearDropsHeldAcks) {
  AckCoalescer acks;
  acks.add(1, 0);
  acks.clear();
  EXPECT_TRUE(acks.empty());
  std::set<uint64_t> unsettled = {1};
  EXPECT_TRUE(acks.take(unsettled).empty());
  EXPECT_EQ(unsettled.size(), 1u) << "a cleared ack is not sent";
}

}  // namespace
}  // namespace qplug::amqp
