// qplug/sdk/schedule_headers.hpp -- reads the two neutral headers that decide
// WHEN and in WHICH ORDER a driver hands a message out: `delay` and `priority`.
//
// Every driver that claims QPLUG_CAP_DELAY or QPLUG_CAP_PRIORITY reads them
// here, so "delay: 1.5s" or "priority: high" means the same on every driver
// and a malformed value is refused with the same message (INVALID naming the
// message, the header and the value). Values go through parse.hpp, THE parser
// for durations and priorities.
//
//   delay:    INT64 milliseconds, or a STRING duration ("250", "1.5s", "2m");
//             0 or absent = immediate. Any other type, a negative number or
//             an unparsable string is INVALID. Appearing twice is INVALID.
//   priority: INT64 0-9 or a STRING "high" (9) | "normal" (5) | "low" (1) |
//             "0".."9"; absent = 5. Anything else is INVALID.
//
// Header-only, no allocation; a message without either header costs one
// length comparison per header (the publish fast path).
#pragma once

#include <qplug/driver.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <qplug/sdk/parse.hpp>
#include <qplug/sdk/status.hpp>
#include <string_view>

namespace qplug::sdk {

inline constexpr std::string_view kDelayHeader = "delay";
inline constexpr std::string_view kPriorityHeader = "priority";

struct ScheduleHeaders {
  static constexpr size_t kNone = static_cast<size_t>(-1);
  int64_t delay_ms = 0;             // 0 = deliver at once
  int priority = kDefaultPriority;  // 0..9, higher first
  size_t delay_index = kNone;       // index of the `delay` header, kNone if absent
  size_t priority_index = kNone;    // index of the `priority` header, kNone if absent
};

namespace schedule_detail {
inline std::string_view key_of(const qplug_header& h) { return {h.key.ptr, h.key.len}; }
inline std::string_view text_of(const qplug_value& v) {
  return v.as.str.len == 0 ? std::string_view{} : std::string_view(v.as.str.ptr, v.as.str.len);
}
}  // namespace schedule_detail

// THE reader of a `priority` header value (validate.hpp, every driver and
// amqp's property builder use it): an INT64 0-9 or a STRING parse_priority()
// accepts. Anything else, other types too: nullopt.
inline std::optional<int> header_priority(const qplug_value& v) {
  if (v.type == QPLUG_VALUE_INT64) return parse_priority(v.as.i64);
  if (v.type == QPLUG_VALUE_STRING) return parse_priority(schedule_detail::text_of(v));
  return std::nullopt;
}

// THE reader of a `delay` or `ttl` header value in milliseconds: an INT64
// 0 .. kMaxDurationMs, or a STRING parse_duration_ms() accepts ("500",
// "1.5s", "2m"). Anything else: nullopt.
inline std::optional<int64_t> header_duration_ms(const qplug_value& v) {
  if (v.type == QPLUG_VALUE_INT64) {
    if (v.as.i64 >= 0 && static_cast<double>(v.as.i64) <= kMaxDurationMs) return v.as.i64;
    return std::nullopt;
  }
  if (v.type == QPLUG_VALUE_STRING) return parse_duration_ms(schedule_detail::text_of(v));
  return std::nullopt;
}

// True if `m` may carry `delay` or `priority`: a key of their length. Small
// and inline, so a publish fast path (no such header) skips the reader below.
inline bool may_have_schedule_headers(const qplug_message& m) {
  for (size_t h = 0; h < m.header_count; ++h) {
    const size_t len = m.headers[h].key.len;
    if (len == kDelayHeader.size() || len == kPriorityHeader.size()) return true;
  }
  return false;
}

// Reads `delay` and `priority` of message #`index` of a publish into *out.
// Returns QPLUG_OK, or QPLUG_INVALID with `st` naming driver, message, header
// and value. The message's spans must already be checked (non-NULL keys).
inline int32_t read_schedule_headers(const qplug_message& m, size_t index, const char* driver, ScheduleHeaders* out,
                                     qplug_status* st) {
  using schedule_detail::key_of;
  using schedule_detail::text_of;
  *out = ScheduleHeaders{};
  for (size_t h = 0; h < m.header_count; ++h) {
    const qplug_header& hd = m.headers[h];
    // Cheap reject first: neither key has another length.
    if (hd.key.len != kDelayHeader.size() && hd.key.len != kPriorityHeader.size()) continue;
    const std::string_view key = key_of(hd);
    const qplug_value& v = hd.value;
    if (key == kDelayHeader) {
      if (out->delay_index != ScheduleHeaders::kNone)
        return fail(st, QPLUG_INVALID, false, "%s: message #%zu has the 'delay' header twice", driver, index);
      const std::optional<int64_t> ms = header_duration_ms(v);
      if (!ms) {
        if (v.type == QPLUG_VALUE_STRING)
          return fail(st, QPLUG_INVALID, false,
                      "%s: message #%zu: header 'delay' is '%.*s', not a duration (ms, or a number with ms/s/m/h)",
                      driver, index, static_cast<int>(v.as.str.len), v.as.str.ptr);
        if (v.type == QPLUG_VALUE_INT64)
          return fail(st, QPLUG_INVALID, false, "%s: message #%zu: header 'delay' is %lld ms, not 0 .. 1e15", driver,
                      index, static_cast<long long>(v.as.i64));
        return fail(st, QPLUG_INVALID, false,
                    "%s: message #%zu: header 'delay' has value type %d; it must be an integer (ms) or a duration "
                    "string",
                    driver, index, static_cast<int>(v.type));
      }
      out->delay_ms = *ms;
      out->delay_index = h;
    } else if (key == kPriorityHeader) {
      if (out->priority_index != ScheduleHeaders::kNone)
        return fail(st, QPLUG_INVALID, false, "%s: message #%zu has the 'priority' header twice", driver, index);
      const std::optional<int> p = header_priority(v);
      if (!p) {
        if (v.type == QPLUG_VALUE_STRING)
          return fail(st, QPLUG_INVALID, false,
                      "%s: message #%zu: header 'priority' is '%.*s'; use high, normal, low or 0-9", driver, index,
                      static_cast<int>(v.as.str.len), v.as.str.ptr);
        if (v.type == QPLUG_VALUE_INT64)
          return fail(st, QPLUG_INVALID, false, "%s: message #%zu: header 'priority' is %lld; use 0-9", driver, index,
                      static_cast<long long>(v.as.i64));
        return fail(st, QPLUG_INVALID, false,
                    "%s: message #%zu: header 'priority' has value type %d; use a string (high/normal/low) or 0-9",
                    driver, index, static_cast<int>(v.type));
      }
      out->priority = *p;
      out->priority_index = h;
    }
  }
  return QPLUG_OK;
}

}  // namespace qplug::sdk
