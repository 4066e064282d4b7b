// core_headers.hpp -- the headers the core itself gives meaning to.
//
// Publish side (every publish path, before the driver sees the message):
//   delay  ms (int) or a duration string; refused with INVALID on a driver
//          without QPLUG_CAP_DELAY (never accepted and ignored). 0 = no delay,
//          accepted everywhere.
//   ttl    ms or a duration; the core stamps x-qplug-expires-at (wall ms)
//          once, so a republish (retry) keeps the original deadline.
// Delivery side: x-qplug-* headers are the core's bookkeeping and are hidden
// from handlers; x-qplug-prior-attempts carries the attempts made before a retry
// copy was republished, x-qplug-expires-at the ttl deadline.
#pragma once

#include <qplug/driver.h>

#include <cstdint>
#include <optional>
#include <qplug/message.hpp>
#include <qplug/status.hpp>
#include <string_view>
#include <vector>

namespace qplug::detail {

struct Route;

inline constexpr std::string_view kDelayHeader = "delay";
inline constexpr std::string_view kTtlHeader = "ttl";
inline constexpr std::string_view kPriorityHeader = "priority";
inline constexpr std::string_view kCorePrefix = "x-qplug-";
// Not "x-qplug-attempts": the amqp driver writes that one on its own
// NACK_REQUEUE copies and strips it on delivery.
inline constexpr std::string_view kAttemptsHeader = "x-qplug-prior-attempts";
inline constexpr std::string_view kExpiresAtHeader = "x-qplug-expires-at";

// Milliseconds since the Unix epoch (the clock ttl deadlines use).
int64_t wall_clock_ms();

// Validates `headers` for a publish on `route` and appends their ABI views
// to *out, plus an x-qplug-expires-at header when a ttl is given and no
// deadline is stamped yet (its value lives in the appended qplug_header).
// INVALID names the header or the driver; *out is unchanged on error.
Status append_publish_headers(const Route& route, const Headers& headers, std::vector<qplug_header>* out);

// What the core's own headers said about a delivered message.
struct CoreHeaderValues {
  uint32_t prior_attempts = 0;  // x-qplug-prior-attempts
  int64_t expires_at_ms = 0;    // x-qplug-expires-at; 0 = never
};

// Removes every x-qplug-* header from *headers and returns their values.
CoreHeaderValues take_core_headers(Headers* headers);

// The delay in ms a `delay` header value asks for, or nullopt if malformed.
std::optional<int64_t> header_duration_ms(const HeaderValue& v);

}  // namespace qplug::detail
