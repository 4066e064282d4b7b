// One parser per entry kind (DESIGN.md section 3). Each checks its fields, reads
// them into the entry struct, resolves references to full IDs (existence is
// checked later by the resolver, once every file is loaded) and appends to Config.
#pragma once

#include "config/yaml_fields.hpp"

namespace qplug::config {

// Dispatches on ec.kind; `node` is the entry's map. Unknown kinds are errors.
Status parse_entry(const EntryContext& ec, const YAML::Node& node, Config* out);

}  // namespace qplug::config
