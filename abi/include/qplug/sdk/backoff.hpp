// qplug/sdk/backoff.hpp -- exponential reconnect backoff with full jitter,
// shared by every network driver so they all behave alike.
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>

namespace qplug::sdk {

class Backoff {
 public:
  Backoff(int64_t initial_ms, int64_t max_ms)
      : initial_ms_(std::max<int64_t>(1, initial_ms)),
        max_ms_(std::max(initial_ms_, max_ms)),
        rng_(std::random_device{}()) {}

  // Next delay: uniform in [cap/2, cap] where cap doubles per failure up to max.
  // Half-jitter keeps a floor so a dead broker is not hammered, while spreading
  // many clients that lost the same broker at the same instant. The floor is
  // at least 1 ms: a zero delay would turn a reconnect loop into a busy spin.
  int64_t next_ms() {
    int64_t cap = initial_ms_;
    for (uint32_t i = 0; i < failures_ && cap < max_ms_; ++i) cap *= 2;
    cap = std::min(cap, max_ms_);
    ++failures_;
    std::uniform_int_distribution<int64_t> dist(std::max<int64_t>(1, cap / 2), cap);
    return dist(rng_);
  }
  void reset() { failures_ = 0; }
  uint32_t failures() const { return failures_; }

 private:
  int64_t initial_ms_;
  int64_t max_ms_;
  uint32_t failures_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace qplug::sdk
