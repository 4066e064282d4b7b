// duplicate_keys.hpp -- rejects a YAML mapping that holds the same key twice.
//
// yaml-cpp accepts duplicate keys and node["key"] returns the first, so a
// second `entries:` list (or a repeated field at any depth) would be dropped
// without a word. The YAML spec says keys are unique; this walk makes that an
// error naming the key's path, its file and both lines, before anything in the
// file is interpreted.
#pragma once

#include <yaml-cpp/yaml.h>

#include <qplug/status.hpp>
#include <string>

namespace qplug::config {

// INVALID "<file>:<line>: duplicate key '<path>' (first at line N)" for the
// first repeated key under `root` (document order); OK otherwise. Nodes reached
// again through an alias are checked once, so the walk is linear in the file.
Status check_duplicate_keys(const YAML::Node& root, const std::string& file);

}  // namespace qplug::config
