// Comparing decoded messages in round-trip invariants: same id, content type,
// body and headers (key, type, value; a NaN double equals a NaN).
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <qplug/sdk/message.hpp>
#include <tuple>

namespace qplug::fuzz {

inline bool same_header(const sdk::OwnedHeader& a, const sdk::OwnedHeader& b) {
  if (a.key != b.key || a.type != b.type) return false;
  switch (a.type) {
    case QPLUG_VALUE_BOOL:
    case QPLUG_VALUE_INT64:
      return a.i64 == b.i64;
    case QPLUG_VALUE_DOUBLE:
      return (std::isnan(a.f64) && std::isnan(b.f64)) || a.f64 == b.f64;
    case QPLUG_VALUE_STRING:
    case QPLUG_VALUE_BYTES:
      return a.data == b.data;
    default:
      return true;
  }
}

inline bool same_message(const sdk::OwnedMessage& a, const sdk::OwnedMessage& b) {
  if (a.id != b.id || a.content_type != b.content_type || a.body != b.body || a.headers.size() != b.headers.size())
    return false;
  for (size_t i = 0; i < a.headers.size(); ++i) {
    if (!same_header(a.headers[i], b.headers[i])) return false;
  }
  return true;
}

// `m` with its headers in a canonical order: header order is not part of a
// driver's contract when it moves neutral keys (correlation_id, reply_to)
// between native properties and its header list.
inline sdk::OwnedMessage sorted_headers(sdk::OwnedMessage m) {
  std::sort(m.headers.begin(), m.headers.end(), [](const sdk::OwnedHeader& a, const sdk::OwnedHeader& b) {
    const uint64_t fa = std::bit_cast<uint64_t>(a.f64), fb = std::bit_cast<uint64_t>(b.f64);  // NaN too
    return std::tie(a.key, a.type, a.data, a.i64, fa) < std::tie(b.key, b.type, b.data, b.i64, fb);
  });
  return m;
}

}  // namespace qplug::fuzz
