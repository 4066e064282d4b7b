// qplug/sdk/waiter.hpp -- a one-shot completion a blocking call waits on.
//
// A synchronous publish() hands its batch to the driver's I/O thread like an
// asynchronous one and then waits here; the I/O thread completes it with the
// same status/accepted pair it would pass to a qplug_publish_done_fn. Keeping
// one code path for both makes sync publishes share the group commit.
#pragma once

#include <qplug/driver.h>

#include <condition_variable>
#include <cstddef>
#include <mutex>

namespace qplug::sdk {

class Waiter {
 public:
  // First completion wins; later ones are ignored (single-shot).
  void complete(const qplug_status& status, size_t accepted) {
    std::lock_guard lock(mu_);
    if (done_) return;
    status_ = status;
    accepted_ = accepted;
    done_ = true;
    cv_.notify_all();
  }

  // Blocks until complete() ran; copies the outcome out.
  void wait(qplug_status* status, size_t* accepted) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return done_; });
    if (status != nullptr) *status = status_;
    if (accepted != nullptr) *accepted = accepted_;
  }

  // wait(), then reports the outcome the way a synchronous publish() does:
  // *accepted (may be NULL) gets the count, *st (may be NULL) the status
  // when it is a failure; returns the status code. The tail every driver's
  // synchronous publish ends with.
  int32_t wait_result(size_t* accepted, qplug_status* st) {
    qplug_status result{};
    size_t ok = 0;
    wait(&result, &ok);
    if (accepted != nullptr) *accepted = ok;
    if (result.code != QPLUG_OK && st != nullptr) *st = result;
    return result.code;
  }

  // Adapter usable as a qplug_publish_done_fn with the Waiter as done_ud.
  static void on_done(void* self, const qplug_status* status, size_t accepted) {
    static_cast<Waiter*>(self)->complete(*status, accepted);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  qplug_status status_{};
  size_t accepted_ = 0;
  bool done_ = false;
};

}  // namespace qplug::sdk
