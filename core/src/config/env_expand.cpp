// Environment expansion of config scalars (see env_expand.hpp).
#include "config/env_expand.hpp"

#include <cstdlib>
#include <vector>

#include "config/yaml_fields.hpp"

namespace qplug::config {
namespace {

bool name_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool name_char(char c) { return name_start(c) || (c >= '0' && c <= '9'); }

// Walks the tree once per distinct node: YAML aliases share nodes, and
// walking them per reference would be exponential ("billion laughs") and
// would expand a shared scalar twice (turning "$${X}" into a lookup).
class Expander {
 public:
  Expander(const std::string& file, const EnvLookup& lookup) : file_(file), lookup_(lookup) {}

  Status walk(YAML::Node node) {
    if (node.IsScalar()) {
      // Only scalars with a '$' are tracked: the visited list stays short.
      if (node.Scalar().find('$') == std::string::npos || seen(node)) return ok_status();
      return expand_scalar(node);
    }
    if (seen(node)) return ok_status();
    if (node.IsSequence()) {
      for (YAML::Node item : node) {
        Status st = walk(item);
        if (!st.ok()) return st;
      }
    } else if (node.IsMap()) {
      for (auto it = node.begin(); it != node.end(); ++it) {
        Status st = walk(it->second);
        if (!st.ok()) return st;
      }
    }
    return ok_status();
  }

 private:
  bool seen(const YAML::Node& node) {
    for (const YAML::Node& n : visited_) {
      if (n.is(node)) return true;
    }
    visited_.push_back(node);
    return false;
  }

  Status expand_scalar(YAML::Node node) {
    const std::string text = node.Scalar();
    std::string error;
    std::optional<std::string> expanded = expand_env(text, lookup_, &error);
    if (!expanded) return invalid_error(SourceLocation{file_, yaml_line(node)}.to_string() + ": " + error);
    node = *expanded;
    return ok_status();
  }

  const std::string& file_;
  const EnvLookup& lookup_;
  std::vector<YAML::Node> visited_;
};

}  // namespace

std::optional<std::string> process_env(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

std::optional<std::string> expand_env(std::string_view text, const EnvLookup& lookup, std::string* error) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c != '$' || i + 1 == text.size() || (text[i + 1] != '$' && text[i + 1] != '{')) {
      out += c;
      ++i;
      continue;
    }
    if (text[i + 1] == '$') {  // "$$": a literal '$'
      out += '$';
      i += 2;
      continue;
    }
    const size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      *error = "'${' without a closing '}' in '" + std::string(text) + "' (write $$ for a literal '$')";
      return std::nullopt;
    }
    const std::string_view inner = text.substr(i + 2, close - i - 2);
    size_t name_end = 0;
    while (name_end < inner.size() && name_char(inner[name_end])) ++name_end;
    const std::string name(inner.substr(0, name_end));
    const std::string_view rest = inner.substr(name_end);
    const bool has_default = rest.substr(0, 2) == ":-";
    if (name.empty() || !name_start(name[0]) || (!rest.empty() && !has_default)) {
      *error = "'${" + std::string(inner) +
               "}' is not a variable reference (expected ${NAME} or ${NAME:-default}, NAME of letters, digits and _)";
      return std::nullopt;
    }
    const std::optional<std::string> value = lookup(name);
    if (has_default && (!value || value->empty())) {
      out += rest.substr(2);
    } else if (value) {
      out += *value;
    } else {
      *error = "environment variable '" + name + "' is not set (used as ${" + name +
               "}; set it, or give a default: ${" + name + ":-value})";
      return std::nullopt;
    }
    i = close + 1;
  }
  return out;
}

Status expand_env_in_tree(YAML::Node root, const std::string& file, const EnvLookup& lookup) {
  return Expander(file, lookup).walk(root);
}

}  // namespace qplug::config
