// qplug/sdk/publish_timeout.hpp -- how long one publish() may wait, resolved
// the same way by every driver.
//
// qplug_publish_options.timeout_ms says: < 0 use the driver's default (its
// `publish_timeout` setting), 0 fail at once rather than wait, > 0 wait up to
// that many milliseconds. NULL options, or options from an older writer whose
// struct_size does not cover timeout_ms, mean the default too.
//
// The deadline helpers saturate: a huge timeout ("wait practically forever")
// must become the farthest representable instant, not overflow into the past
// (which would turn "wait a long time" into "fail at once").
#pragma once

#include <qplug/driver.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <qplug/sdk/message.hpp>

namespace qplug::sdk {

// The timeout in milliseconds (>= 0 when driver_default_ms is).
inline int64_t publish_timeout_ms(const qplug_publish_options* options, int64_t driver_default_ms) {
  if (!QPLUG_SDK_HAS_FIELD(options, qplug_publish_options, timeout_ms) || options->timeout_ms < 0) {
    return driver_default_ms;
  }
  return options->timeout_ms;
}

// `now + timeout_ms` on any std::chrono clock, saturating at time_point::max().
template <typename Clock = std::chrono::steady_clock>
typename Clock::time_point deadline_after(int64_t timeout_ms, typename Clock::time_point now = Clock::now()) {
  using Point = typename Clock::time_point;
  if (timeout_ms <= 0) return now;
  const auto room = std::chrono::duration_cast<std::chrono::milliseconds>(Point::max() - now).count();
  if (timeout_ms >= room) return Point::max();
  return now + std::chrono::duration_cast<typename Clock::duration>(std::chrono::milliseconds(timeout_ms));
}

// Milliseconds as int64 nanoseconds, saturating at INT64_MAX (a duration
// setting may be up to 1e15 ms, which `* 1000000` would overflow); a
// negative value gives 0.
inline int64_t ms_to_ns_saturating(int64_t ms) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  if (ms <= 0) return 0;
  if (ms > kMax / 1000000) return kMax;
  return ms * 1000000;
}

// The same for drivers that keep time as int64 nanoseconds (host->monotonic_ns).
inline int64_t deadline_ns_after(int64_t now_ns, int64_t timeout_ms) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  if (timeout_ms <= 0) return now_ns;
  const int64_t ns = ms_to_ns_saturating(timeout_ms);
  if (ns > kMax - now_ns) return kMax;
  return now_ns + ns;
}

}  // namespace qplug::sdk
