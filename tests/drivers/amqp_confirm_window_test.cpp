// The amqp driver's confirm window (plugins/amqp/amqp_confirm_window.hpp),
// without a broker: which sent message a basic.ack / basic.nack settles.
// A wrong mapping reports a message as stored that the broker never
// confirmed, or fails one it did.
#include "amqp_confirm_window.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace qplug::amqp {
namespace {

struct Sent {
  std::string id;
  bool settled = false;
  int ok = -1;  // -1 not settled, 1 acked, 0 nacked
};

// Settles like Io::settle_entry: once, recording the outcome.
struct Recorder {
  std::vector<std::string> order;
  void operator()(Sent& s, bool ok) {
    if (s.settled) return;
    s.settled = true;
    s.ok = ok ? 1 : 0;
    order.push_back(s.id + (ok ? "+" : "-"));
  }
};

ConfirmWindow<Sent> window_of(std::initializer_list<const char*> ids) {
  ConfirmWindow<Sent> w;
  for (const char* id : ids) w.push(Sent{id});
  return w;
}

TEST(ConfirmWindow, SequenceNumbersStartAtOneAndFollowSendingOrder) {
  ConfirmWindow<Sent> w;
  EXPECT_EQ(w.next_tag(), 1u);
  w.push(Sent{"a"});
  w.push(Sent{"b"});
  EXPECT_EQ(w.next_tag(), 3u);
  Recorder r;
  w.confirm(2, false, true, r);
  EXPECT_EQ(r.order, (std::vector<std::string>{"b+"}));
  EXPECT_EQ(w.size(), 2u) << "b is settled but a, in front of it, is not: both stay";
  EXPECT_EQ(w.front().id, "a") << "the front is the oldest unconfirmed message";
  w.confirm(1, false, true, r);
  EXPECT_TRUE(w.empty());
  EXPECT_EQ(w.next_tag(), 3u) << "numbering goes on after the window drains";
}

TEST(ConfirmWindow, MultipleSettlesEverythingUpToTheTagOnce) {
  auto w = window_of({"a", "b", "c", "d"});
  Recorder r;
  w.confirm(2, false, false, r);  // b nacked first
  w.confirm(3, true, true, r);    // then 1..3 acked: a and c, not b again
  EXPECT_EQ(r.order, (std::vector<std::string>{"b-", "a+", "c+"}));
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w.front().id, "d");
  w.confirm(4, false, true, r);
  EXPECT_TRUE(w.empty());
}

TEST(ConfirmWindow, StaleOrUnknownTagsAreIgnored) {
  auto w = window_of({"a", "b"});
  Recorder r;
  w.confirm(1, false, true, r);
  w.confirm(1, false, false, r);  // duplicate of a confirmed, gone tag
  w.confirm(0, true, true, r);    // below every sequence number
  w.confirm(9, false, true, r);   // beyond the window
  EXPECT_EQ(r.order, (std::vector<std::string>{"a+"}));
  EXPECT_EQ(w.size(), 1u);
  w.confirm(9, true, true, r);  // multiple beyond the window covers what is there
  EXPECT_EQ(r.order, (std::vector<std::string>{"a+", "b+"}));
  EXPECT_TRUE(w.empty());
}

TEST(ConfirmWindow, TakeAllEmptiesItAndRestartNumbersFromOne) {
  auto w = window_of({"a", "b", "c"});
  Recorder r;
  w.confirm(2, false, true, r);
  auto lost = w.take_all();  // connection lost: the caller fails what is unsettled
  ASSERT_EQ(lost.size(), 3u);
  EXPECT_FALSE(lost[0].settled);
  EXPECT_TRUE(lost[1].settled) << "a settled entry keeps its outcome; it is not failed again";
  EXPECT_TRUE(w.empty());
  w.restart();  // confirm.select on the new channel
  w.push(Sent{"x"});
  w.confirm(1, false, true, r);
  EXPECT_EQ(r.order.back(), "x+") << "tag 1 on the new channel is the first message sent on it";
}

}  // namespace
}  // namespace qplug::amqp
