// abi_status.cpp -- maps qplug_code values to ErrorKind.
#include "runtime/abi_status.hpp"

#include <cstring>
#include <string>

namespace qplug::detail {

ErrorKind kind_from_abi(int32_t code) {
  switch (code) {
    case QPLUG_OK:
      return ErrorKind::OK;
    case QPLUG_INVALID:
      return ErrorKind::INVALID;
    case QPLUG_NOT_FOUND:
      return ErrorKind::NOT_FOUND;
    case QPLUG_PERMISSION_DENIED:
      return ErrorKind::PERMISSION_DENIED;
    case QPLUG_UNAVAILABLE:
      return ErrorKind::UNAVAILABLE;
    case QPLUG_TIMEOUT:
      return ErrorKind::TIMEOUT;
    case QPLUG_FULL:
      return ErrorKind::FULL;
    case QPLUG_CANCELED:
      return ErrorKind::CANCELED;
    default:
      return ErrorKind::INTERNAL;  // QPLUG_INTERNAL and codes from a newer ABI
  }
}

Status status_from_abi(const qplug_status& st, std::string_view context) {
  const ErrorKind kind = kind_from_abi(st.code);
  if (kind == ErrorKind::OK) return ok_status();
  const bool retryable = (st.flags & QPLUG_STATUS_RETRYABLE) != 0 || kind == ErrorKind::UNAVAILABLE ||
                         kind == ErrorKind::TIMEOUT || kind == ErrorKind::FULL;
  // The plugin's message is NUL-terminated by contract; bound it anyway.
  const size_t len = strnlen(st.message, sizeof st.message);
  std::string msg(context);
  if (len > 0) {
    if (!msg.empty()) msg += ": ";
    msg.append(st.message, len);
  } else if (msg.empty()) {
    msg = "driver error";
  }
  return Status(kind, std::move(msg), retryable);
}

}  // namespace qplug::detail
