// uuid_v7.hpp -- UUIDv7 text written into a caller's buffer, for hot paths
// that only need the ID for the duration of a call (publish hands the driver
// borrowed views): no std::string, so no allocation per message.
#pragma once

#include <cstddef>

namespace qplug::detail {

constexpr size_t kUuidTextSize = 36;  // 8-4-4-4-12 hex digits and dashes, no NUL

// Writes a new time-ordered UUIDv7 (same generator as qplug::new_uuid_v7)
// into out[0..36).
void write_uuid_v7(char* out);

}  // namespace qplug::detail
