// load_config / parse_config: read YAML files (one, or every *.yaml/*.yml of a
// directory in name order) into one registry, then resolve cross-references.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <qplug/sdk/parse.hpp>
#include <sstream>

#include "config/config_resolver.hpp"
#include "config/duplicate_keys.hpp"
#include "config/entry_parsers.hpp"
#include "config/env_expand.hpp"

namespace qplug {
namespace {

namespace fs = std::filesystem;
using config::EntryContext;
using config::FileContext;

Status file_error(const FileContext& fc, const YAML::Node& at, const std::string& message) {
  return invalid_error(SourceLocation{fc.file, config::yaml_line(at)}.to_string() + ": " + message);
}

bool given(const YAML::Node& n) { return n.IsDefined() && !n.IsNull(); }

// Top-level `security: {strict: bool, sandbox: bool}`.
Status parse_top_security(const FileContext& fc, const YAML::Node& n, Config* out) {
  if (!n.IsMap()) return file_error(fc, n, "'security' must be a map ({strict: true})");
  for (auto it = n.begin(); it != n.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == "sandbox") {
      // false (in any file): Lua entries run with full Lua (docs/security.md "Lua sandbox").
      std::optional<bool> v = it->second.IsScalar() ? sdk::parse_bool(it->second.Scalar()) : std::nullopt;
      if (!v) return file_error(fc, it->second, "'security.sandbox' must be true or false");
      if (!*v) out->lua_sandbox = false;
      continue;
    }
    if (!it->first.IsScalar() || it->first.Scalar() != "strict") {
      return file_error(fc, it->first,
                        "unknown field 'security." + (it->first.IsScalar() ? it->first.Scalar() : std::string("?")) +
                            "' (expected: security.strict, security.sandbox)");
    }
    const std::optional<bool> v = it->second.IsScalar() ? sdk::parse_bool(it->second.Scalar()) : std::nullopt;
    if (!v) return file_error(fc, it->second, "'security.strict' must be a boolean (true/false, yes/no, on/off, 1/0)");
    if (*v) out->strict_security = true;  // one strict file makes the whole registry strict
  }
  return ok_status();
}

Status parse_entries(FileContext& fc, const YAML::Node& entries, Config* out) {
  if (!entries.IsSequence()) return file_error(fc, entries, "'entries' must be a list");
  int index = 0;
  for (const YAML::Node& node : entries) {
    ++index;
    EntryContext ec{&fc, '#' + std::to_string(index), "?", config::yaml_line(node)};
    if (!node.IsMap()) return ec.error(node, "an entry must be a map with 'kind' and 'name'");
    std::string kind;
    Status st = config::read_string(ec, node, "kind", &kind, true);
    if (!st.ok()) return st;
    ec.kind = kind;
    const bool has_name = given(node["name"]);
    const bool has_id = given(node["id"]);
    if (has_name && has_id) return ec.error(node["id"], "give 'name' or its synonym 'id', not both");
    std::string name;
    st = config::read_string(ec, node, has_id ? "id" : "name", &name, true, "name");
    if (!st.ok()) return st;
    Result<std::string> id = resolve_id(fc.ns, name);
    if (!id.ok()) return ec.error(node[has_id ? "id" : "name"], id.status().message());
    ec.id = std::move(id).value();
    st = config::parse_entry(ec, node, out);
    if (!st.ok()) return st;
  }
  return ok_status();
}

Status parse_document(FileContext& fc, const YAML::Node& root, Config* out) {
  if (!root.IsMap()) {
    return file_error(fc, root, "a config file must be a map with 'version', 'namespace' and 'entries'");
  }
  for (auto it = root.begin(); it != root.end(); ++it) {
    const std::string key = it->first.IsScalar() ? it->first.Scalar() : "";
    if (key != "version" && key != "namespace" && key != "entries" && key != "security") {
      return file_error(fc, it->first,
                        "unknown top-level field '" + key + "' (expected version, namespace, entries, security)");
    }
  }
  const YAML::Node version = root["version"];
  if (given(version)) {
    const std::string v = version.IsScalar() ? version.Scalar() : "";
    if (v != "1" && v != "1.0" && v != "1.0.0") {
      return file_error(fc, version, "unsupported version '" + v + "' (this build reads version 1 / \"1.0\")");
    }
  }
  const YAML::Node ns = root["namespace"];
  if (given(ns)) {
    if (!ns.IsScalar()) return file_error(fc, ns, "'namespace' must be a string");
    Status st = validate_queue_id(ns.Scalar() + ":x");
    if (!st.ok()) return file_error(fc, ns, "namespace '" + ns.Scalar() + "' is not valid (letters, digits, _ . -)");
    fc.ns = ns.Scalar();
  }
  const YAML::Node security = root["security"];
  if (given(security)) {
    Status st = parse_top_security(fc, security, out);
    if (!st.ok()) return st;
  }
  const YAML::Node entries = root["entries"];
  if (!given(entries)) return ok_status();
  if (fc.ns.empty()) return file_error(fc, root, "'namespace' is required when the file has entries");
  return parse_entries(fc, entries, out);
}

// Counts the YAML documents a text holds by its "---" markers. A marker at
// column 0 always ends whatever scalar precedes it, so this is exact for
// "---"-separated streams. (We cannot ask yaml-cpp: its LoadAll() loops forever
// allocating on some malformed inputs, e.g. ",\n-\n" -- yaml-cpp PR #1319.)
int count_yaml_documents(std::string_view text) {
  int documents = 0;
  bool content_before_marker = false;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    const bool marker =
        line.substr(0, 3) == "---" && (line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r');
    if (marker) {
      // The first marker opens document 1, or document 2 when content preceded it.
      documents = documents == 0 ? (content_before_marker ? 2 : 1) : documents + 1;
    } else if (documents == 0 && !line.empty() && line[0] != '#' && line[0] != '%' &&
               line.find_first_not_of(" \t\r") != std::string_view::npos) {
      content_before_marker = true;
    }
    pos = end + 1;
  }
  return documents == 0 ? 1 : documents;
}

// Parses one file's text into *out (no cross-file resolution).
Status parse_file_text(std::string_view text, const std::string& file, const std::string& dir, Config* out) {
  FileContext fc{file, dir, ""};
  try {
    const int documents = count_yaml_documents(text);
    if (documents > 1) {
      return invalid_error(file + ": holds " + std::to_string(documents) +
                           " YAML documents; put one per file (a directory of files is one registry)");
    }
    const YAML::Node root = YAML::Load(std::string(text));
    if (!root.IsDefined() || root.IsNull()) {
      return invalid_error(file + ": config is empty or not a YAML document (expected version, namespace, entries)");
    }
    // A repeated key would hide its first value (node["key"] returns one).
    Status unique = config::check_duplicate_keys(root, file);
    if (!unique.ok()) return unique;
    // ${VAR} first: every value below is read as the environment makes it.
    Status expanded = config::expand_env_in_tree(root, file);
    if (!expanded.ok()) return expanded;
    return parse_document(fc, root, out);
  } catch (const YAML::Exception& e) {
    if (e.mark.line >= 0) {
      return invalid_error(file + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                           ": " + e.msg);
    }
    return invalid_error(file + ": " + e.msg);
  } catch (const std::exception& e) {
    return invalid_error(file + ": cannot read config: " + e.what());
  }
}

Result<std::string> read_text_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found_error(path.string() + ": cannot open config file");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return invalid_error(path.string() + ": read error");
  return text.str();
}

Result<std::vector<fs::path>> config_files(const fs::path& path) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (ec || !fs::exists(status)) return not_found_error(path.string() + ": config not found");
  if (!fs::is_directory(status)) return std::vector<fs::path>{path};
  std::vector<fs::path> files;
  for (const fs::directory_entry& e : fs::directory_iterator(path, ec)) {
    const std::string ext = e.path().extension().string();
    if ((ext == ".yaml" || ext == ".yml") && e.is_regular_file()) files.push_back(e.path());
  }
  if (ec) return invalid_error(path.string() + ": cannot list directory: " + ec.message());
  if (files.empty()) return invalid_error(path.string() + ": directory holds no *.yaml or *.yml files");
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

Result<Config> parse_config(std::string_view yaml_text, const std::string& name) {
  Config config;
  const std::string dir = fs::path(name).parent_path().string();
  config.base_dir = dir;
  Status st = parse_file_text(yaml_text, name, dir, &config);
  if (st.ok()) st = config::resolve_config(&config);
  if (!st.ok()) return st;
  return config;
}

Result<Config> load_config(const std::string& path) {
  Result<std::vector<fs::path>> files = config_files(path);
  if (!files.ok()) return files.status();
  Config config;
  std::error_code ec;
  const bool is_dir = fs::is_directory(path, ec);
  const fs::path base = is_dir ? fs::path(path) : fs::path(path).parent_path();
  config.base_dir = base.empty() ? "." : base.lexically_normal().string();
  for (const fs::path& file : files.value()) {
    Result<std::string> text = read_text_file(file);
    if (!text.ok()) return text.status();
    Status st = parse_file_text(text.value(), file.string(), file.parent_path().string(), &config);
    if (!st.ok()) return st;
  }
  Status st = config::resolve_config(&config);
  if (!st.ok()) return st;
  return config;
}

}  // namespace qplug
