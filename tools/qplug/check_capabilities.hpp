// check_capabilities.hpp -- `qplug check`'s per-queue table of what the
// driver does natively and what the core emulates, refuses or ignores.
#pragma once

#include <ostream>
#include <qplug/runtime.hpp>
#include <vector>

namespace qplug::cli {

// Prints one row per queue (delay, ttl, priority, retry backoff, dead-letter
// target) and one sentence per consequence a user must know about.
void print_capabilities(std::ostream& out, const std::vector<RouteInfo>& routes);

}  // namespace qplug::cli
