// The mqtt publisher's early PUBACKs (plugins/mqtt/mqtt_early_acks.hpp),
// without a broker: a PUBACK that comes before its send recorded the mid
// must confirm that message, and a late PUBACK of an earlier use of the same
// mid must not (that would report a message as stored that the broker never
// confirmed).
#include "mqtt_early_acks.hpp"

#include <gtest/gtest.h>

namespace qplug::mqtt {
namespace {

TEST(EarlyAcks, APubackBeforeTheMidIsRecordedConfirmsThatSend) {
  EarlyAcks a;
  const uint64_t stamp = a.begin();
  EXPECT_TRUE(a.arrived(7, 0));
  ASSERT_EQ(a.take(7, stamp), 0);
  EXPECT_EQ(a.kept(), 0u);  // taken once
  EXPECT_EQ(a.take(7, stamp), std::nullopt);
  EXPECT_TRUE(a.end());
}

TEST(EarlyAcks, TheReasonIsKept) {
  EarlyAcks a;
  const uint64_t stamp = a.begin();
  a.arrived(9, 0x87);  // not authorized
  EXPECT_EQ(a.take(9, stamp), 0x87);
  a.end();
}

TEST(EarlyAcks, WithNoSendUnderWayAPubackIsLateAndDropped) {
  EarlyAcks a;
  EXPECT_FALSE(a.arrived(3, 0));
  const uint64_t stamp = a.begin();
  EXPECT_EQ(a.take(3, stamp), std::nullopt);
  a.end();
}

TEST(EarlyAcks, ALatePubackThatCameBeforeTheSendBeganDoesNotConfirmIt) {
  EarlyAcks a;
  a.begin();        // another thread's send is under way
  a.arrived(5, 0);  // a late PUBACK of an earlier use of mid 5
  const uint64_t mine = a.begin();
  EXPECT_EQ(a.take(5, mine), std::nullopt) << "came before this send began";
  a.arrived(5, 0);  // the PUBACK of this send
  EXPECT_EQ(a.take(5, mine), 0);
  EXPECT_FALSE(a.end());
  EXPECT_TRUE(a.end());
}

TEST(EarlyAcks, WhatIsKeptGoesWhenTheLastSendEnds) {
  EarlyAcks a;
  a.begin();
  a.begin();
  a.arrived(1, 0);
  a.arrived(2, 0);
  EXPECT_EQ(a.sending(), 2);
  EXPECT_FALSE(a.end());
  EXPECT_EQ(a.kept(), 2u);  // the other send may still take its own
  EXPECT_TRUE(a.end());
  EXPECT_EQ(a.kept(), 0u);
  const uint64_t next = a.begin();
  EXPECT_EQ(a.take(1, next), std::nullopt);
  a.end();
}

}  // namespace
}  // namespace qplug::mqtt
