// Internal: the one-time check of a plugin's vtable.
#pragma once

#include <qplug/driver.h>

#include <string>

namespace qplug::loader::detail {

// Returns "" when `vt` is acceptable, else the fault (without the file path),
// e.g. "mandatory operation 'settle' is NULL". `vt` is non-NULL.
std::string validate_vtable(const qplug_driver_v1& vt);

// Checks a driver name: non-empty, [A-Za-z0-9_-] only (it becomes part of a
// file name and of the YAML kind queue.driver.<name>). Returns "" or the fault.
std::string check_driver_name(const char* name);

}  // namespace qplug::loader::detail
