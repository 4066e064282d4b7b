// qplug/sdk/parse.hpp -- the ONE parser for booleans, durations and the
// neutral `priority` header, shared by the core's YAML reader, the SDK's
// ConfigReader and every driver, so the same text means the same value
// everywhere (DESIGN.md section 3).
//
// Header-only, no allocation, no locale: safe on any thread and in hot paths.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string_view>
#include <system_error>

namespace qplug::sdk {

namespace parse_detail {
inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (x != b[i]) return false;
  }
  return true;
}
}  // namespace parse_detail

// true/false, yes/no, on/off in any case, and 1/0. Anything else: nullopt.
inline std::optional<bool> parse_bool(std::string_view s) {
  using parse_detail::iequals;
  if (iequals(s, "true") || iequals(s, "yes") || iequals(s, "on") || s == "1") return true;
  if (iequals(s, "false") || iequals(s, "no") || iequals(s, "off") || s == "0") return false;
  return std::nullopt;
}

// The largest duration accepted (~31,000 years): anything above is a typo.
inline constexpr double kMaxDurationMs = 1e15;

// A duration in milliseconds: a bare number is ms; a number followed by one of
// ms, s, m, h (any case) is scaled. Fractions are allowed and rounded to the
// nearest millisecond ("1.5s" = 1500, "0.4ms" = 0). Negative, empty, NaN/inf,
// trailing text and values above kMaxDurationMs: nullopt.
inline std::optional<int64_t> parse_duration_ms(std::string_view s) {
  using parse_detail::iequals;
  double scale = 1.0;
  struct Unit {
    std::string_view suffix;
    double factor;
  };
  // "ms" before "m" and "s": the longest suffix wins.
  static constexpr Unit kUnits[] = {{"ms", 1.0}, {"s", 1000.0}, {"m", 60000.0}, {"h", 3600000.0}};
  for (const Unit& u : kUnits) {
    if (s.size() > u.suffix.size() && iequals(s.substr(s.size() - u.suffix.size()), u.suffix)) {
      s.remove_suffix(u.suffix.size());
      scale = u.factor;
      break;
    }
  }
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return std::nullopt;
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || !std::isfinite(v) || v < 0) return std::nullopt;
  const double ms = v * scale;
  if (ms > kMaxDurationMs) return std::nullopt;
  return static_cast<int64_t>(std::llround(ms));
}

// The neutral `priority` header: "high" = 9, "normal" = 5, "low" = 1 (any
// case), or a whole number 0-9 (higher is more urgent, as in AMQP). A message
// without the header has kDefaultPriority. Anything else: nullopt.
inline constexpr int kDefaultPriority = 5;
inline constexpr int kMaxPriority = 9;
inline std::optional<int> parse_priority(std::string_view s) {
  using parse_detail::iequals;
  if (iequals(s, "high")) return 9;
  if (iequals(s, "normal")) return kDefaultPriority;
  if (iequals(s, "low")) return 1;
  if (s.size() == 1 && s[0] >= '0' && s[0] <= '9') return s[0] - '0';
  return std::nullopt;
}
inline std::optional<int> parse_priority(int64_t n) {
  if (n < 0 || n > kMaxPriority) return std::nullopt;
  return static_cast<int>(n);
}

}  // namespace qplug::sdk
