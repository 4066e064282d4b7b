// qplug/sdk/validate.hpp -- the ONE rule set a publish() batch is checked
// against, so a message one driver accepts is accepted by every driver.
//
//   if (int32_t rc = qplug::sdk::check_batch(msgs, n, where, limits, st); rc != QPLUG_OK) return rc;
//
// where names the call for the message ("redis: publish to 'jobs'"). What is
// checked, in this order, each failure INVALID (never retryable) naming the
// message index and the field:
//  - the batch: n >= 1, msgs non-NULL, no NULL message;
//  - each message: struct_size covers header_count, abi_major matches;
//    no span has a NULL pointer with a non-zero length;
//  - limits (MessageLimits, below): id, content type, header count, header
//    key and string/bytes value sizes, body size, and the size the headers
//    take together as the driver encodes them (header_block_bytes());
//  - headers: non-empty key, a known value type, no key given twice
//    (handlers read headers as a map, and brokers keep repeats differently);
//  - the neutral headers with a meaning: `priority` (high/normal/low or 0-9),
//    `delay` and `ttl` (milliseconds as INT64 >= 0, or a duration string as
//    parse.hpp reads it), read by schedule_headers.hpp's header_priority()
//    and header_duration_ms(), the one reader of these values. A bad value
//    there would otherwise be silently ignored or changed by the driver.
// Pure function of its input: any thread; it allocates only for a message
// of more than kPairwiseHeaderKeys headers.
#pragma once

#include <qplug/driver.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <qplug/sdk/message.hpp>
#include <qplug/sdk/parse.hpp>
#include <qplug/sdk/schedule_headers.hpp>
#include <qplug/sdk/status.hpp>
#include <string_view>
#include <utility>
#include <vector>

namespace qplug::sdk {

inline constexpr size_t kNoLimit = std::numeric_limits<size_t>::max();

// The defaults are the same for every driver -- the tightest common broker
// rule (an AMQP shortstr holds 255 bytes: message-id, content-type, header
// table keys) -- so moving a queue between brokers never starts refusing
// messages. A driver whose broker has a hard limit beyond these (a maximum
// payload size) tightens the field it needs and names it in its docs page.
struct MessageLimits {
  size_t max_id_bytes = 255;
  size_t max_content_type_bytes = 255;
  size_t max_headers = kNoLimit;
  size_t max_header_key_bytes = 255;
  size_t max_header_value_bytes = kNoLimit;  // STRING and BYTES values
  size_t max_body_bytes = kNoLimit;
  // All headers together, as header_block_bytes() estimates their encoded
  // size (a broker that must get them in one frame: AMQP's frame_max). The
  // error names the largest header, the one to move into the body.
  size_t max_header_block_bytes = kNoLimit;
  // How header_block_bytes() counts one header: key + value + this many bytes
  // of framing (type tags, length prefixes); a bool/int/float value counts
  // as header_scalar_bytes. The driver sets both to (an upper bound of) its
  // encoding, so the one rule set measures what the broker will see.
  size_t header_entry_overhead_bytes = 0;
  size_t header_scalar_bytes = 8;
};

// The encoded size of one header as `limits` counts it.
inline size_t header_encoded_bytes(const qplug_header& h, const MessageLimits& limits) {
  size_t value = limits.header_scalar_bytes;
  if (h.value.type == QPLUG_VALUE_STRING) value = h.value.as.str.len;
  if (h.value.type == QPLUG_VALUE_BYTES) value = h.value.as.bytes.len;
  if (h.value.type == QPLUG_VALUE_NULL) value = 0;
  return h.key.len + value + limits.header_entry_overhead_bytes;
}

namespace validate_detail {
inline bool span_ok(const void* ptr, size_t len) { return ptr != nullptr || len == 0; }
inline std::string_view text(qplug_str s) {
  return s.ptr == nullptr ? std::string_view{} : std::string_view(s.ptr, s.len);
}
// The printf arguments for "%.*s".
inline int len(std::string_view s) { return static_cast<int>(s.size() > 200 ? 200 : s.size()); }

// Up to this many headers the repeat check compares pairs, which costs
// nothing measurable for the usual handful and allocates nothing; above it,
// sorting keeps a message with thousands of headers from costing millions of
// comparisons.
inline constexpr size_t kPairwiseHeaderKeys = 32;

// The first repeated header key as (earlier index, later index); nullopt when
// every key is unique.
inline std::optional<std::pair<size_t, size_t>> repeated_key(const qplug_header* h, size_t n) {
  if (n <= kPairwiseHeaderKeys) {
    for (size_t j = 1; j < n; ++j)
      for (size_t i = 0; i < j; ++i)
        if (text(h[i].key) == text(h[j].key)) return std::make_pair(i, j);
    return std::nullopt;
  }
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  // Stable: equal keys stay in index order, so a pair is (earlier, later).
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return text(h[a].key) < text(h[b].key); });
  std::optional<std::pair<size_t, size_t>> first;
  for (size_t k = 1; k < n; ++k) {
    if (text(h[order[k - 1]].key) != text(h[order[k]].key)) continue;
    // Report the repeat whose later copy comes first, as the pairwise scan does.
    if (!first || order[k] < first->second) first = std::make_pair(order[k - 1], order[k]);
  }
  return first;
}
}  // namespace validate_detail

// Checks message #index; QPLUG_OK or INVALID with `st` filled.
inline int32_t check_message(const qplug_message* m, size_t index, std::string_view where, const MessageLimits& limits,
                             qplug_status* st) {
  using validate_detail::len;
  using validate_detail::span_ok;
  using validate_detail::text;
  const int w = len(where);
  const char* wp = where.data();
  auto too_big = [&](const char* what, size_t size, size_t limit, const char* limit_name) {
    return fail(st, QPLUG_INVALID, false, "%.*s: message #%zu: %s is %zu bytes, more than %zu (%s)", w, wp, index, what,
                size, limit, limit_name);
  };
  if (m == nullptr) return fail(st, QPLUG_INVALID, false, "%.*s: message #%zu is NULL", w, wp, index);
  if (!QPLUG_SDK_HAS_FIELD(m, qplug_message, header_count) || m->abi_major != QPLUG_ABI_MAJOR) {
    return fail(st, QPLUG_INVALID, false, "%.*s: message #%zu has struct_size %u and ABI major %u (need ABI %d)", w, wp,
                index, static_cast<unsigned>(m->struct_size), static_cast<unsigned>(m->abi_major), QPLUG_ABI_MAJOR);
  }
  const struct {
    const char* field;
    bool ok;
  } spans[] = {{"id", span_ok(m->id.ptr, m->id.len)},
               {"content_type", span_ok(m->content_type.ptr, m->content_type.len)},
               {"body", span_ok(m->body.ptr, m->body.len)},
               {"headers", span_ok(m->headers, m->header_count)}};
  for (const auto& s : spans) {
    if (!s.ok) {
      return fail(st, QPLUG_INVALID, false, "%.*s: message #%zu: %s is NULL with a non-zero length", w, wp, index,
                  s.field);
    }
  }
  if (m->id.len > limits.max_id_bytes) return too_big("id", m->id.len, limits.max_id_bytes, "max_id_bytes");
  if (m->content_type.len > limits.max_content_type_bytes) {
    return too_big("content_type", m->content_type.len, limits.max_content_type_bytes, "max_content_type_bytes");
  }
  if (m->body.len > limits.max_body_bytes) return too_big("body", m->body.len, limits.max_body_bytes, "max_body_bytes");
  if (m->header_count > limits.max_headers) {
    return fail(st, QPLUG_INVALID, false, "%.*s: message #%zu has %zu headers, more than %zu (max_headers)", w, wp,
                index, m->header_count, limits.max_headers);
  }
  for (size_t i = 0; i < m->header_count; ++i) {
    const qplug_header& h = m->headers[i];
    if (!span_ok(h.key.ptr, h.key.len) || h.key.len == 0) {
      return fail(st, QPLUG_INVALID, false, "%.*s: message #%zu: header #%zu has an empty key", w, wp, index, i);
    }
    const std::string_view key = text(h.key);
    const int k = len(key);
    if (key.size() > limits.max_header_key_bytes) {
      return fail(st, QPLUG_INVALID, false, "%.*s: message #%zu: header key '%.*s...' is %zu bytes, more than %zu (%s)",
                  w, wp, index, k > 40 ? 40 : k, key.data(), key.size(), limits.max_header_key_bytes,
                  "max_header_key_bytes");
    }
    const qplug_value& v = h.value;
    if (v.type < QPLUG_VALUE_NULL || v.type > QPLUG_VALUE_BYTES) {
      return fail(st, QPLUG_INVALID, false, "%.*s: message #%zu: header '%.*s' has unknown value type %d", w, wp, index,
                  k, key.data(), static_cast<int>(v.type));
    }
    if (v.type == QPLUG_VALUE_STRING || v.type == QPLUG_VALUE_BYTES) {
      // str and bytes share one layout in the union: a pointer and a length.
      const size_t size = v.type == QPLUG_VALUE_STRING ? v.as.str.len : v.as.bytes.len;
      const void* ptr = v.type == QPLUG_VALUE_STRING ? static_cast<const void*>(v.as.str.ptr) : v.as.bytes.ptr;
      if (!span_ok(ptr, size)) {
        return fail(st, QPLUG_INVALID, false, "%.*s: message #%zu: header '%.*s' value is NULL with a non-zero length",
                    w, wp, index, k, key.data());
      }
      if (size > limits.max_header_value_bytes) {
        return fail(st, QPLUG_INVALID, false,
                    "%.*s: message #%zu: header '%.*s' value is %zu bytes, more than %zu (max_header_value_bytes)", w,
                    wp, index, k, key.data(), size, limits.max_header_value_bytes);
      }
    }
    if (key == "priority" && !header_priority(v)) {
      return fail(st, QPLUG_INVALID, false,
                  "%.*s: message #%zu: header 'priority' must be high, normal, low or a whole number 0-9", w, wp,
                  index);
    }
    if ((key == "delay" || key == "ttl") && !header_duration_ms(v)) {
      return fail(st, QPLUG_INVALID, false,
                  "%.*s: message #%zu: header '%.*s' must be milliseconds (an integer >= 0) or a duration like 1.5s", w,
                  wp, index, k, key.data());
    }
  }
  if (auto r = validate_detail::repeated_key(m->headers, m->header_count)) {
    const std::string_view key = text(m->headers[r->first].key);
    return fail(st, QPLUG_INVALID, false, "%.*s: message #%zu: header '%.*s' is given twice (#%zu and #%zu)", w, wp,
                index, len(key), key.data(), r->first, r->second);
  }
  if (limits.max_header_block_bytes != kNoLimit) {
    size_t total = 0;
    size_t largest = 0;
    for (size_t i = 0; i < m->header_count; ++i) {
      const size_t size = header_encoded_bytes(m->headers[i], limits);
      total += size;
      if (size > header_encoded_bytes(m->headers[largest], limits)) largest = i;
    }
    if (total > limits.max_header_block_bytes) {
      const std::string_view key = text(m->headers[largest].key);
      return fail(st, QPLUG_INVALID, false,
                  "%.*s: message #%zu: the headers take %zu bytes encoded, more than %zu (max_header_block_bytes); the "
                  "largest is '%.*s' (%zu bytes): move big values into the body",
                  w, wp, index, total, limits.max_header_block_bytes, len(key), key.data(),
                  header_encoded_bytes(m->headers[largest], limits));
    }
  }
  return QPLUG_OK;
}

// Checks a whole publish() batch before anything of it is published.
inline int32_t check_batch(const qplug_message* const* msgs, size_t n, std::string_view where,
                           const MessageLimits& limits, qplug_status* st) {
  const int w = validate_detail::len(where);
  if (n == 0) return fail(st, QPLUG_INVALID, false, "%.*s: a batch of 0 messages", w, where.data());
  if (msgs == nullptr) return fail(st, QPLUG_INVALID, false, "%.*s: msgs is NULL", w, where.data());
  for (size_t i = 0; i < n; ++i) {
    if (int32_t rc = check_message(msgs[i], i, where, limits, st); rc != QPLUG_OK) return rc;
  }
  return QPLUG_OK;
}

}  // namespace qplug::sdk
