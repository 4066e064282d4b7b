// rstream_errors.hpp -- the one place hiredis and Redis error replies are
// translated to qplug codes (DESIGN.md: one mapping table per driver).
#pragma once

#include <qplug/driver.h>

#include <string_view>

namespace qplug::rstream {

struct ErrorClass {
  qplug_code code;
  bool retryable;
};

// hiredis context errors (REDIS_ERR_IO, _EOF, ...): the connection is gone.
ErrorClass classify_io_error(int hiredis_err);

// A Redis error reply ("WRONGTYPE ...", "NOAUTH ...", "LOADING ...").
ErrorClass classify_reply_error(std::string_view reply_text);

}  // namespace qplug::rstream
