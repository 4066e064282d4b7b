// Fuzzes `${VAR}` expansion. The input is "NAME=value" lines (the
// environment), a NUL, then the text to expand (without a NUL: the whole input
// is the text, with a small fixed environment). Invariants: an error has a
// message; text without '$' comes back unchanged; text with every '$' doubled
// comes back as written; the tree expansion of a YAML document never crashes
// and fails only with INVALID naming the file.
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "config/env_expand.hpp"
#include "fuzz_check.hpp"

namespace {

std::map<std::string, std::string> fuzz_env_of(std::string_view spec) {
  std::map<std::string, std::string> env;
  while (!spec.empty()) {
    const size_t nl = spec.find('\n');
    const std::string_view line = spec.substr(0, nl);
    const size_t eq = line.find('=');
    if (eq != std::string_view::npos) env[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
    if (nl == std::string_view::npos) break;
    spec.remove_prefix(nl + 1);
  }
  return env;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  std::map<std::string, std::string> env = {{"HOST", "db.example"}, {"EMPTY", ""}, {"DOLLAR", "$HOME"}};
  std::string_view text = input;
  if (nul != std::string_view::npos) {
    env = fuzz_env_of(input.substr(0, nul));
    text = input.substr(nul + 1);
  }
  const qplug::config::EnvLookup lookup = [&env](const std::string& name) -> std::optional<std::string> {
    auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };

  std::string error;
  const std::optional<std::string> out = qplug::config::expand_env(text, lookup, &error);
  if (!out) FUZZ_CHECK(!error.empty());
  if (text.find('$') == std::string_view::npos) FUZZ_CHECK(out && *out == text);

  std::string escaped;
  for (char c : text) escaped += c == '$' ? std::string("$$") : std::string(1, c);
  error.clear();
  const std::optional<std::string> literal = qplug::config::expand_env(escaped, lookup, &error);
  FUZZ_CHECK(literal && *literal == text);

  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception&) {
    return 0;
  }
  const qplug::Status st = qplug::config::expand_env_in_tree(root, "fuzz.yaml", lookup);
  if (!st.ok()) {
    FUZZ_CHECK(st.kind() == qplug::ErrorKind::INVALID);
    FUZZ_CHECK(st.message().rfind("fuzz.yaml:", 0) == 0);
  }
  return 0;
}
