// rate_limited_log.hpp -- log lines of one kind, at most N per second.
//
// Why: a poison message retried without backoff fails thousands of times a
// second; logging every failure would drown the log (and cost more than the
// handler). The first kLinesPerSecond lines of each one-second window are
// written; the rest are counted and reported as one "suppressed K" line when
// the next line is written or the owner flushes (at stop).
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "runtime/host_services.hpp"

namespace qplug::detail {

class RateLimitedLog {
 public:
  static constexpr int kLinesPerSecond = 10;
  using Clock = std::chrono::steady_clock;

  explicit RateLimitedLog(std::string who) : who_(std::move(who)) {}

  // Writes `line` unless this window already had kLinesPerSecond lines.
  // Returns true when it was written.
  bool write(int32_t level, std::string_view line, Clock::time_point now = Clock::now()) {
    uint64_t suppressed = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (now - window_start_ >= std::chrono::seconds(1)) {
        suppressed = suppressed_;
        suppressed_ = 0;
        window_start_ = now;
        written_ = 0;
      }
      if (written_ >= kLinesPerSecond) {
        ++suppressed_;
        return false;
      }
      ++written_;
    }
    if (suppressed > 0) report(suppressed);
    log_line(level, who_, line);
    return true;
  }

  // Reports lines suppressed since the last written one.
  void flush() {
    uint64_t suppressed = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      suppressed = suppressed_;
      suppressed_ = 0;
    }
    if (suppressed > 0) report(suppressed);
  }

  uint64_t suppressed() const {
    std::lock_guard<std::mutex> lock(mu_);
    return suppressed_;
  }

 private:
  void report(uint64_t n) {
    log_line(QPLUG_LOG_WARN, who_,
             "suppressed " + std::to_string(n) + " similar line(s) (more than " + std::to_string(kLinesPerSecond) +
                 " per second)");
  }

  const std::string who_;
  mutable std::mutex mu_;
  Clock::time_point window_start_{};
  int written_ = 0;
  uint64_t suppressed_ = 0;
};

}  // namespace qplug::detail
