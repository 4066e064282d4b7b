// host_services.hpp -- the qplug_host_v1 table handed to every driver's
// open(), and the core's own logging, which shares its level filter.
//
// The level comes from env QPLUG_LOG=debug|info|warn|error (default warn),
// read once; lines go to stderr as "qplug[level] who: message".
#pragma once

#include <qplug/driver.h>

#include <string>
#include <string_view>

namespace qplug::detail {

// Static storage; valid for the life of the process.
const qplug_host_v1* host_services();
// The same services for one driver entry: its log lines read
// "qplug[warn] redis driver 'app:cache': ...". Also valid for the process' life.
const qplug_host_v1* host_services_for(const std::string& entry_id);

bool log_enabled(int32_t level);
void log_line(int32_t level, std::string_view who, std::string_view message);

}  // namespace qplug::detail
