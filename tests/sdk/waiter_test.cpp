// Waiter: the one-shot completion a synchronous publish waits on.
#include <gtest/gtest.h>

#include <atomic>
#include <qplug/sdk/status.hpp>
#include <qplug/sdk/waiter.hpp>
#include <string>
#include <thread>
#include <vector>

using qplug::sdk::fail;
using qplug::sdk::make_status;
using qplug::sdk::Waiter;

namespace {

TEST(Waiter, CompletedBeforeWaitReturnsTheOutcomeAtOnce) {
  Waiter w;
  qplug_status st = make_status();
  fail(&st, QPLUG_UNAVAILABLE, true, "broker gone after %d", 2);
  w.complete(st, 2);
  qplug_status got = make_status();
  size_t accepted = 99;
  w.wait(&got, &accepted);
  EXPECT_EQ(got.code, QPLUG_UNAVAILABLE);
  EXPECT_EQ(got.flags, QPLUG_STATUS_RETRYABLE);
  EXPECT_STREQ(got.message, "broker gone after 2");
  EXPECT_EQ(accepted, 2u);
}

TEST(Waiter, TheFirstCompletionWins) {
  Waiter w;
  w.complete(make_status(), 5);
  qplug_status late = make_status();
  fail(&late, QPLUG_CANCELED, false, "late");
  w.complete(late, 0);
  qplug_status got = make_status();
  size_t accepted = 0;
  w.wait(&got, &accepted);
  EXPECT_EQ(got.code, QPLUG_OK);
  EXPECT_EQ(accepted, 5u);
}

TEST(Waiter, NullOutputsAreAllowed) {
  Waiter w;
  w.complete(make_status(), 1);
  w.wait(nullptr, nullptr);
}

TEST(Waiter, OnDoneIsAPublishDoneCallback) {
  Waiter w;
  qplug_publish_done_fn fn = &Waiter::on_done;  // must convert: it is handed to publish()
  qplug_status st = make_status();
  fn(&w, &st, 3);
  size_t accepted = 0;
  w.wait(nullptr, &accepted);
  EXPECT_EQ(accepted, 3u);
}

// Real threads: a waiter blocks until another thread completes it, and every
// one of many concurrent waiters gets its own outcome (none lost, none mixed).
TEST(Waiter, WaitBlocksUntilAnotherThreadCompletes) {
  constexpr int kWaiters = 64;
  std::vector<Waiter> waiters(kWaiters);
  std::vector<size_t> got(kWaiters, 0);
  std::atomic<int> finished{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kWaiters; ++i)
    threads.emplace_back([&, i] {
      waiters[i].wait(nullptr, &got[i]);
      finished++;
    });
  EXPECT_EQ(finished.load(), 0) << "a wait returned before anything completed it";
  std::thread completer([&] {
    for (int i = kWaiters - 1; i >= 0; --i) waiters[i].complete(make_status(), static_cast<size_t>(i) + 100);
  });
  completer.join();
  for (auto& t : threads) t.join();
  EXPECT_EQ(finished.load(), kWaiters);
  for (int i = 0; i < kWaiters; ++i) EXPECT_EQ(got[i], static_cast<size_t>(i) + 100);
}

TEST(Waiter, WaitResultReportsLikeASynchronousPublish) {
  Waiter failed;
  qplug_status st = make_status();
  fail(&st, QPLUG_FULL, true, "full after %d", 3);
  std::thread completer([&] { failed.complete(st, 3); });
  size_t accepted = 0;
  qplug_status got = make_status();
  EXPECT_EQ(failed.wait_result(&accepted, &got), QPLUG_FULL);
  completer.join();
  EXPECT_EQ(accepted, 3u);
  EXPECT_EQ(got.code, QPLUG_FULL);
  EXPECT_STREQ(got.message, "full after 3");
  EXPECT_EQ(failed.wait_result(nullptr, nullptr), QPLUG_FULL) << "NULL outputs are allowed";

  Waiter ok;
  ok.complete(make_status(), 7);
  qplug_status untouched = make_status();
  fail(&untouched, QPLUG_INTERNAL, false, "left as it was");
  EXPECT_EQ(ok.wait_result(&accepted, &untouched), QPLUG_OK);
  EXPECT_EQ(accepted, 7u);
  EXPECT_EQ(untouched.code, QPLUG_INTERNAL) << "a success does not overwrite the caller's status";
}

}  // namespace
