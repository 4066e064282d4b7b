// tests/conformance/conformance_harness.hpp -- a small C++ harness over the
// driver C ABI for the conformance suite: load + open a driver, declare unique
// queues, publish, and collect deliveries with bounded waits.
//
// It uses the loader and driver.h only (never core), so the suite tests
// exactly what a plugin promises through the ABI.
#pragma once

#include <gtest/gtest.h>
#include <qplug/driver.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <qplug/sdk/message.hpp>
#include <qplug/sdk/status.hpp>
#include <string>
#include <vector>

#include "conformance.hpp"

namespace qplug::conformance {

// Generous bound for every wait: a deadline, never an expected duration.
inline constexpr std::chrono::seconds kDeadline{30};

const Target& target();           // make_target(), built once
const qplug_driver_v1* vtable();  // the loaded plugin's vtable (nullptr + ADD_FAILURE on error)
bool has_cap(uint64_t cap);

// Config/options as the ABI wants them; the strings stay owned by `src`.
std::vector<qplug_kv> to_kv(const KeyValues& src);

// "code NAME: message" for assertion output.
std::string describe(const qplug_status& st);

// A test message: id, content type, body, headers, built on sdk::OwnedMessage.
sdk::OwnedMessage make_message(const std::string& id, const std::string& body,
                               const std::string& content_type = "application/octet-stream");
void add_header(sdk::OwnedMessage& m, const std::string& key, int32_t type, int64_t i64 = 0, double f64 = 0,
                const std::string& data = {});

// One received delivery, copied so it outlives settle().
struct Received {
  sdk::OwnedMessage message;
  qplug_delivery* delivery = nullptr;  // nullptr once settled
  int consumer = 0;                    // which Consumer got it
  int32_t callback_settle_rc = -1;     // settle()'s code when settled inside the callback; -1 if held
};

// What a consumer does with a delivery: return a qplug_disposition to settle
// at once from inside the callback, or kHold to keep it for the test.
inline constexpr int32_t kHold = -1;
using Policy = std::function<int32_t(const Received&)>;

// Records deliveries of one or more subscriptions; thread-safe; all waits bounded.
class Collector {
 public:
  std::vector<Received> snapshot();
  size_t count();
  // Waits until count() >= n (or the deadline); returns whether it got there.
  bool wait_for(size_t n, std::chrono::milliseconds deadline = kDeadline);
  // Waits until `pred` holds over the received list.
  bool wait_until(const std::function<bool(const std::vector<Received>&)>& pred,
                  std::chrono::milliseconds deadline = kDeadline);
  // Settles every held delivery; returns the codes in order.
  std::vector<int32_t> settle_held(int32_t disposition);
  // Settles the held delivery at index i (of snapshot order).
  int32_t settle(size_t i, int32_t disposition, qplug_status* st = nullptr);

  size_t max_outstanding() const { return max_outstanding_.load(); }
  size_t outstanding() const { return outstanding_.load(); }
  std::atomic<int> callbacks_running{0};
  std::atomic<size_t> callbacks_total{0};

  // Called from deliver callbacks (through Consumer). `unsubscribing` is the
  // consumer's flag, set before its unsubscribe() starts: from then on the ABI
  // lets settle() return CANCELED (the broker gets the message back).
  void on_delivery(int consumer, qplug_delivery* d, const qplug_message* m, const Policy& policy,
                   const std::atomic<bool>& unsubscribing);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Received> got_;
  std::atomic<size_t> outstanding_{0};
  std::atomic<size_t> max_outstanding_{0};
};

class Queue;

// One subscription; unsubscribes and frees itself on destruction.
class Consumer {
 public:
  // `name`: the subscribe options' consumer_name (empty: the driver picks).
  Consumer(Queue& q, Collector& c, Policy policy, uint32_t prefetch = 0, int index = 0, const std::string& group = {},
           const std::string& name = {});
  ~Consumer();
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;
  bool ok() const { return handle_ != nullptr; }
  const qplug_status& status() const { return st_; }
  int32_t unsubscribe(qplug_status* st = nullptr);
  void free();  // unsubscribe (if needed) + consumer_free

 private:
  static void deliver(void* ud, qplug_delivery* d, const qplug_message* m);
  Collector& collector_;
  Policy policy_;
  int index_;
  std::string group_;
  std::string name_;
  std::atomic<bool> unsubscribing_{false};  // set before the first unsubscribe() call
  qplug_consumer* handle_ = nullptr;
  const qplug_driver_v1* vt_;
  qplug_status st_ = sdk::make_status();
};

// A declared queue of an open driver.
class Queue {
 public:
  Queue(const qplug_driver_v1* vt, qplug_queue* q, std::string name) : vt(vt), handle(q), name(std::move(name)) {}
  // Publishes one message synchronously; returns the code, fills *st.
  int32_t publish(const sdk::OwnedMessage& m, qplug_status* st = nullptr, int64_t timeout_ms = -1);
  // Publishes a batch synchronously.
  int32_t publish_batch(std::vector<sdk::OwnedMessage>& ms, size_t* accepted, qplug_status* st = nullptr);
  // Publishes, retrying retryable failures until the deadline (for restarts).
  int32_t publish_retrying(const sdk::OwnedMessage& m);
  const qplug_driver_v1* vt;
  qplug_queue* handle;
  std::string name;
};

// An open driver instance; closes on destruction.
class Driver {
 public:
  Driver() = default;
  ~Driver() { close(); }
  Driver(const Driver&) = delete;
  Driver& operator=(const Driver&) = delete;
  // Opens with target().config plus `extra` (appended). Returns the code.
  int32_t open(const KeyValues& extra = {}, qplug_status* st = nullptr);
  void close();
  // Declares `name` with target().queue_options plus `extra`; nullptr on failure.
  std::unique_ptr<Queue> declare(const std::string& name, const KeyValues& extra = {}, qplug_status* st = nullptr);
  const qplug_driver_v1* vt = nullptr;
  qplug_driver* handle = nullptr;
};

// Fixture: skips/fails on an unreachable broker, loads and opens the driver.
class ConformanceTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;
  // "conf_<test>_<pid>_<counter>": unique per test and per run.
  std::string unique_name(const std::string& suffix = {});
  std::unique_ptr<Queue> declare_unique(const KeyValues& extra = {});
  // Waits target().quiet_ms so a late, unwanted delivery would show up. Never an assertion by itself.
  static void quiet_period();

  const qplug_driver_v1* vt_ = nullptr;
  Driver driver_;
};

}  // namespace qplug::conformance
