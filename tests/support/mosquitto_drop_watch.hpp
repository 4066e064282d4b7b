// tests/support/mosquitto_drop_watch.hpp -- did mosquitto drop anything while
// a test ran? The one trace of a message mosquitto discarded after accepting
// it (queue limits; the publisher got its PUBACK all the same) is the counter
// $SYS/broker/publish/messages/dropped.
//
// Why a live subscription rather than reading the counter before and after:
// mosquitto publishes the counter (retained) only when it CHANGES, and in
// 2.0.11 the retained value vanishes from the broker about a minute after its
// last change (observed: a read with mosquitto_sub then times out). So the
// watch subscribes for the whole test: a retained delivery is the old value;
// any LIVE (non-retained) publication of the counter means it went up during
// the test, i.e. something was dropped. The watch resubscribes after a broker
// restart; the restarted broker's counter starts again at 0, so a live "0" is
// not a drop. (A drop in the last second before a restart, before $SYS was
// refreshed, goes unseen.)
//
//   MosquittoDropWatch drops(url);          // before the test's traffic
//   ASSERT_TRUE(drops.ok()) << drops.error();
//   ... publish, consume ...
//   EXPECT_FALSE(drops.any_after_refresh()) << drops.describe();
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

struct mosquitto;
struct mosquitto_message;

namespace qplug::testing {

class MosquittoDropWatch {
 public:
  explicit MosquittoDropWatch(const std::string& url);
  ~MosquittoDropWatch();
  MosquittoDropWatch(const MosquittoDropWatch&) = delete;
  MosquittoDropWatch& operator=(const MosquittoDropWatch&) = delete;

  // Whether the watch is subscribed; error() says why not.
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

  // Waits (deadline 30 s) until the broker refreshed $SYS twice more (two
  // more uptime updates, sys_interval is 1 s in the shipped config), so
  // every drop so far is reported, then says whether the counter changed
  // since the watch began.
  bool any_after_refresh();

  // "dropped counter: retained 0 at start; live updates: 12, 40" for messages.
  std::string describe();

 private:
  static void on_connect(::mosquitto*, void* self, int rc);
  static void on_message(::mosquitto*, void* self, const ::mosquitto_message* m);
  std::string error_;
  ::mosquitto* m_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string retained_dropped_;           // the value the watch started with, if the broker still had it
  std::vector<std::string> live_dropped_;  // every change during the watch
  long long uptime_ = -1;                  // latest $SYS/broker/uptime, seconds
  long long refreshes_ = 0;                // $SYS/broker/uptime messages seen (uptime restarts with the broker)
};

}  // namespace qplug::testing
