// env_expand.hpp -- `${VAR}` and `${VAR:-default}` in config scalars,
// expanded from the environment before any value is interpreted, so
// credentials and per-host addresses stay out of the files
// (docs/configuration.md, "Environment variables").
//
//   ${NAME}            the variable's value; unset is an error naming it, the
//                      file and the line (an empty value is kept)
//   ${NAME:-default}   the default when NAME is unset or empty (as in sh)
//   $$                 a literal '$' ("pa$$word" reads "pa$word")
//   $ anything else    kept as written ("pa$word" stays "pa$word")
// NAME is [A-Za-z_][A-Za-z0-9_]*; the default is plain text up to the first
// '}' (no nesting). Mapping keys are never expanded: only values.
#pragma once

#include <yaml-cpp/yaml.h>

#include <functional>
#include <optional>
#include <qplug/status.hpp>
#include <string>
#include <string_view>

namespace qplug::config {

// How a variable is looked up: nullopt when unset (std::getenv by default).
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
std::optional<std::string> process_env(const std::string& name);

// Expands one scalar. On error returns nullopt and sets *error to a message
// naming the variable (without file and line, which the caller adds).
std::optional<std::string> expand_env(std::string_view text, const EnvLookup& lookup, std::string* error);

// Expands every scalar value under `root` in place. Errors are INVALID:
// "<file>:<line>: <message>".
Status expand_env_in_tree(YAML::Node root, const std::string& file, const EnvLookup& lookup = process_env);

}  // namespace qplug::config
