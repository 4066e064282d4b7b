// core_headers.cpp -- checks and stamps delay/ttl at publish, hides the
// core's bookkeeping headers at delivery (contracts A-C, docs/messages.md).
#include "runtime/core_headers.hpp"

#include <chrono>
#include <limits>
#include <qplug/sdk/parse.hpp>

#include "runtime/abi_message.hpp"
#include "runtime/router.hpp"

namespace qplug::detail {
namespace {

std::string describe(const HeaderValue& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return "'" + *s + "'";
  if (const auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (const auto* d = std::get_if<double>(&v)) return std::to_string(*d);
  if (const auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  return "null";
}

Status bad_duration(const Route& route, std::string_view key, const HeaderValue& v) {
  return invalid_error("publish to '" + route.entry->id + "': header '" + std::string(key) +
                       "' must be milliseconds (an integer >= 0) or a duration such as '30s', got " + describe(v));
}

}  // namespace

int64_t wall_clock_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::optional<int64_t> header_duration_ms(const HeaderValue& v) {
  if (const auto* i = std::get_if<int64_t>(&v)) return *i >= 0 ? std::optional<int64_t>(*i) : std::nullopt;
  if (const auto* s = std::get_if<std::string>(&v)) return qplug::sdk::parse_duration_ms(*s);
  return std::nullopt;
}

Status append_publish_headers(const Route& route, const Headers& headers, std::vector<qplug_header>* out) {
  const size_t first = out->size();
  int64_t ttl_ms = -1;
  bool stamped = false;
  for (const auto& [key, value] : headers) {
    // Only keys the core owns are looked at; the common case is a few
    // short compares per header.
    if (key == kDelayHeader) {
      auto ms = header_duration_ms(value);
      if (!ms) {
        out->resize(first);
        return bad_duration(route, key, value);
      }
      if (*ms > 0 && (route.driver->capabilities() & QPLUG_CAP_DELAY) == 0) {
        out->resize(first);
        return invalid_error("queue '" + route.entry->id + "' (driver '" + route.driver->entry().driver +
                             "'): delay is not supported by this driver");
      }
    } else if (key == kTtlHeader) {
      auto ms = header_duration_ms(value);
      if (!ms) {
        out->resize(first);
        return bad_duration(route, key, value);
      }
      ttl_ms = *ms;
    } else if (key == kExpiresAtHeader) {
      stamped = true;
    }
  }
  append_abi_headers(headers, out);
  if (ttl_ms >= 0 && !stamped) {
    qplug_value v{};
    v.type = QPLUG_VALUE_INT64;
    const int64_t now = wall_clock_ms();
    v.as.i64 = ttl_ms > std::numeric_limits<int64_t>::max() - now ? std::numeric_limits<int64_t>::max() : now + ttl_ms;
    out->push_back(qplug_header{to_abi_str(kExpiresAtHeader), v});
  }
  return ok_status();
}

CoreHeaderValues take_core_headers(Headers* headers) {
  CoreHeaderValues out;
  for (auto it = headers->begin(); it != headers->end();) {
    if (!std::string_view(it->first).starts_with(kCorePrefix)) {
      ++it;
      continue;
    }
    const auto* i = std::get_if<int64_t>(&it->second);
    if (i != nullptr && it->first == kAttemptsHeader && *i > 0) {
      out.prior_attempts = *i > std::numeric_limits<uint32_t>::max() / 2 ? std::numeric_limits<uint32_t>::max() / 2
                                                                         : static_cast<uint32_t>(*i);
    } else if (i != nullptr && it->first == kExpiresAtHeader) {
      out.expires_at_ms = *i;
    }
    it = headers->erase(it);
  }
  return out;
}

}  // namespace qplug::detail
