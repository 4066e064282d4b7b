// qplug/sdk/host_log.hpp -- a driver's logger: printf-style lines through the
// host's qplug_host_v1.log service, never to stderr (the host decides where
// driver logs go and filters them again by its own level).
//
//   qplug::sdk::HostLog log(host, "redis");          // in open()
//   log.warn("writer: %s; retrying with backoff", st.message);
//
// NULL-safe: a NULL host, an old host whose struct_size does not cover log,
// or a NULL log service all make every call a cheap no-op. Lines below the
// minimum level are dropped before formatting. Any thread; const after setup.
#pragma once

#include <qplug/driver.h>

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <qplug/sdk/message.hpp>
#include <qplug/sdk/parse.hpp>
#include <string_view>

namespace qplug::sdk {

// "debug", "info", "warn"/"warning", "error" in any case; else nullopt.
inline std::optional<int32_t> parse_log_level(std::string_view s) {
  auto is = [&](std::string_view want) { return parse_detail::iequals(s, want); };  // parse.hpp's one comparison
  if (is("debug")) return QPLUG_LOG_DEBUG;
  if (is("info")) return QPLUG_LOG_INFO;
  if (is("warn") || is("warning")) return QPLUG_LOG_WARN;
  if (is("error")) return QPLUG_LOG_ERROR;
  return std::nullopt;
}

class HostLog {
 public:
  // Longest line passed to the host; longer lines end in "..." so a reader
  // sees that something was cut.
  static constexpr size_t kMaxLine = 1024;

  HostLog() = default;  // logs nothing
  HostLog(const qplug_host_v1* host, const char* driver_name, int32_t min_level = QPLUG_LOG_DEBUG)
      : host_(QPLUG_SDK_HAS_FIELD(host, qplug_host_v1, log) && host->log != nullptr ? host : nullptr),
        name_(driver_name == nullptr ? "" : driver_name),
        min_level_(min_level) {}

  void set_min_level(int32_t level) { min_level_ = level; }
  bool enabled(int32_t level) const { return host_ != nullptr && level >= min_level_; }

  [[gnu::format(printf, 3, 4)]] void log(int32_t level, const char* fmt, ...) const {
    va_list ap;
    va_start(ap, fmt);
    vlog(level, fmt, ap);
    va_end(ap);
  }
  [[gnu::format(printf, 2, 3)]] void debug(const char* fmt, ...) const {
    va_list ap;
    va_start(ap, fmt);
    vlog(QPLUG_LOG_DEBUG, fmt, ap);
    va_end(ap);
  }
  [[gnu::format(printf, 2, 3)]] void info(const char* fmt, ...) const {
    va_list ap;
    va_start(ap, fmt);
    vlog(QPLUG_LOG_INFO, fmt, ap);
    va_end(ap);
  }
  [[gnu::format(printf, 2, 3)]] void warn(const char* fmt, ...) const {
    va_list ap;
    va_start(ap, fmt);
    vlog(QPLUG_LOG_WARN, fmt, ap);
    va_end(ap);
  }
  [[gnu::format(printf, 2, 3)]] void error(const char* fmt, ...) const {
    va_list ap;
    va_start(ap, fmt);
    vlog(QPLUG_LOG_ERROR, fmt, ap);
    va_end(ap);
  }

  void vlog(int32_t level, const char* fmt, va_list ap) const {
    if (!enabled(level)) return;
    char line[kMaxLine];
    int n = std::vsnprintf(line, sizeof line, fmt, ap);
    if (n < 0) {
      std::snprintf(line, sizeof line, "(unformattable log line: %s)", fmt);
    } else if (static_cast<size_t>(n) >= sizeof line) {
      std::memcpy(line + sizeof line - 4, "...", 4);
    }
    host_->log(host_->host_ud, level, name_, line);
  }

 private:
  const qplug_host_v1* host_ = nullptr;
  const char* name_ = "";
  int32_t min_level_ = QPLUG_LOG_DEBUG;
};

}  // namespace qplug::sdk
