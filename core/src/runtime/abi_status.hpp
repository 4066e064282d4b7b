// abi_status.hpp -- the ONE place where ABI status codes become C++ error kinds.
#pragma once

#include <qplug/driver.h>

#include <qplug/status.hpp>
#include <string_view>

namespace qplug::detail {

ErrorKind kind_from_abi(int32_t code);

// "<context>: <plugin message>", kind mapped, RETRYABLE flag preserved
// (UNAVAILABLE/TIMEOUT/FULL count as retryable even if a plugin forgot the flag).
Status status_from_abi(const qplug_status& st, std::string_view context);

inline qplug_status fresh_abi_status() {
  qplug_status st{};
  st.code = QPLUG_OK;
  return st;
}

}  // namespace qplug::detail
