// rstream_log.hpp -- logging through the host's service table (never stderr
// directly: the host decides where driver logs go).
#pragma once

#include <qplug/driver.h>

#include <cstdarg>
#include <cstdio>
#include <qplug/sdk/message.hpp>

namespace qplug::rstream {

[[gnu::format(printf, 3, 4)]] inline void log(const qplug_host_v1* host, int32_t level, const char* fmt, ...) {
  if (!QPLUG_SDK_HAS_FIELD(host, qplug_host_v1, log) || host->log == nullptr) return;
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  host->log(host->host_ud, level, "redis", buf);
}

}  // namespace qplug::rstream
