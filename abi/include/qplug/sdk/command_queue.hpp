// qplug/sdk/command_queue.hpp -- a thread-safe multi-producer queue of
// commands for a driver's single I/O thread, with a pollable wakeup fd.
//
// Client libraries such as librabbitmq and hiredis are not thread-safe, so
// every host call (publish, settle, unsubscribe) is marshalled to the thread
// that owns the connection. That thread poll()s on its socket AND on
// wakeup_fd(); push() makes wakeup_fd() readable, drain() takes every queued
// command at once (group commit: many publishers' messages go out in one
// pass) and clears the wakeup. Linux eventfd; no other dependency.
#pragma once

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <utility>
#include <vector>

namespace qplug::sdk {

template <typename Command>
class CommandQueue {
 public:
  CommandQueue() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (fd_ < 0) throw std::runtime_error("eventfd failed");
  }
  ~CommandQueue() { ::close(fd_); }
  CommandQueue(const CommandQueue&) = delete;
  CommandQueue& operator=(const CommandQueue&) = delete;

  // Any thread. Never blocks for long.
  void push(Command c) {
    bool was_empty;
    {
      std::lock_guard<std::mutex> lock(mu_);
      was_empty = items_.empty();
      items_.push_back(std::move(c));
    }
    if (was_empty) wake();
  }

  // I/O thread: takes every queued command (in push order) and re-arms the fd.
  std::vector<Command> drain() {
    uint64_t counter;
    while (::read(fd_, &counter, sizeof counter) > 0) {
    }
    std::vector<Command> out;
    std::lock_guard<std::mutex> lock(mu_);
    out.swap(items_);
    return out;
  }

  bool empty() const {
    std::lock_guard<std::mutex> lock(mu_);
    return items_.empty();
  }

  // Makes wakeup_fd() readable without a command (e.g. to ask for shutdown).
  void wake() {
    uint64_t one = 1;
    ssize_t rc = ::write(fd_, &one, sizeof one);
    (void)rc;  // EAGAIN means the counter is already non-zero: still awake
  }

  int wakeup_fd() const { return fd_; }

 private:
  int fd_;
  mutable std::mutex mu_;
  std::vector<Command> items_;
};

}  // namespace qplug::sdk
