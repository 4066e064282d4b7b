// delayed_requeue.hpp -- retry backoff without sleeping workers.
//
// A nacked delivery whose retry backoff is non-zero is held here, unsettled,
// until its deadline, then settled NACK_REQUEUE so the driver redelivers it
// (attempts + 1). While held it still counts against the prefetch limit, so
// failing messages slow intake instead of piling up. One timer thread per
// subscription, started only when the queue configures a backoff.
#pragma once

#include <qplug/driver.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

namespace qplug::detail {

class DelayedRequeue {
 public:
  explicit DelayedRequeue(const qplug_driver_v1* vt);
  ~DelayedRequeue();
  DelayedRequeue(const DelayedRequeue&) = delete;
  DelayedRequeue& operator=(const DelayedRequeue&) = delete;

  void schedule(qplug_delivery* delivery, std::chrono::milliseconds delay);
  // Requeues every held delivery now and stops the timer thread. Idempotent.
  void flush();

 private:
  void run();
  void requeue(qplug_delivery* delivery);

  const qplug_driver_v1* vt_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::multimap<std::chrono::steady_clock::time_point, qplug_delivery*> held_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace qplug::detail
