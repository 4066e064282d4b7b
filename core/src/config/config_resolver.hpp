// Cross-entry checks once every file of a registry is parsed: duplicate IDs,
// references that must exist, and per-driver option selection.
#pragma once

#include <qplug/config.hpp>

namespace qplug::config {

Status resolve_config(Config* config);

}  // namespace qplug::config
