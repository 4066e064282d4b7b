// check_sandbox.hpp -- the Lua sandbox section of `qplug check`.
#pragma once

#include <ostream>
#include <qplug/config.hpp>
#include <string>

namespace qplug::cli {

// "default", "+io +os" (the entry's `modules:` grants) or "off (trusted host)".
std::string sandbox_summary(const Config& config, const HandlerSpec& handler);

// One row per Lua queue.consumer and process.lua entry: what its sandbox
// grants (docs/security.md "Lua sandbox"). Prints nothing without Lua entries.
void print_sandbox(std::ostream& out, const Config& config);

}  // namespace qplug::cli
