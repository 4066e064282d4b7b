// Typed, located reads of YAML fields (see yaml_fields.hpp).
#include "config/yaml_fields.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <optional>
#include <qplug/sdk/parse.hpp>

namespace qplug::config {
namespace {

constexpr int kMaxFlattenDepth = 32;
// YAML aliases can make a small file expand exponentially ("billion laughs").
constexpr size_t kMaxFlattenedSettings = 4096;

// Messages start with '\'' + field_name(...), a char: a one-character string
// literal before a temporary std::string trips GCC 12's bogus -Wrestrict at
// -O3 (GCC PR 105329), which breaks a Release build with -Werror.
std::string field_name(const char* key, const std::string& field) { return field.empty() ? key : field; }

// The field's node, or an undefined node; never throws (map checked first).
YAML::Node field_node(const YAML::Node& map, const char* key) {
  if (!map.IsDefined() || !map.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
  return map[key];
}

bool present(const YAML::Node& n) { return n.IsDefined() && !n.IsNull(); }

bool parse_int(const std::string& s, int64_t* out) {
  const char* begin = s.data();
  const char* end = s.data() + s.size();
  if (begin != end && *begin == '+') ++begin;
  auto [p, ec] = std::from_chars(begin, end, *out);
  return ec == std::errc() && p == end && begin != end;
}

bool parse_double(const std::string& s, double* out) {
  const char* begin = s.data();
  const char* end = s.data() + s.size();
  if (begin != end && *begin == '+') ++begin;
  auto [p, ec] = std::from_chars(begin, end, *out);
  return ec == std::errc() && p == end && begin != end && std::isfinite(*out);
}

}  // namespace

int yaml_line(const YAML::Node& node) {
  if (!node.IsDefined()) return 0;
  const YAML::Mark mark = node.Mark();
  return mark.line >= 0 ? mark.line + 1 : 0;
}

Status EntryContext::error(const YAML::Node& at, const std::string& message) const {
  const int at_line = yaml_line(at);
  return invalid_error(SourceLocation{file->file, at_line > 0 ? at_line : line}.to_string() + ": entry '" + id + "' (" +
                       kind + "): " + message);
}

Status EntryContext::error(const std::string& message) const {
  return error(YAML::Node(YAML::NodeType::Undefined), message);
}

Status check_fields(const EntryContext& ec, const YAML::Node& map, std::initializer_list<const char*> allowed,
                    const std::string& prefix) {
  std::vector<std::string> seen;
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (!it->first.IsScalar()) return ec.error(it->first, "field names must be plain strings");
    const std::string& key = it->first.Scalar();
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
      return ec.error(it->first, "duplicate field '" + prefix + key + "'");
    }
    seen.push_back(key);
    const bool known = std::any_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; });
    if (!known) {
      std::string list;
      for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + prefix + a;
      return ec.error(it->first, "unknown field '" + prefix + key + "' (expected one of: " + list + ")");
    }
  }
  return ok_status();
}

Status read_string(const EntryContext& ec, const YAML::Node& map, const char* key, std::string* out, bool required,
                   const std::string& field) {
  YAML::Node n = field_node(map, key);
  if (!present(n) || (n.IsScalar() && n.Scalar().empty())) {
    if (required) return ec.error(n, '\'' + field_name(key, field) + "' is required");
    return ok_status();
  }
  if (!n.IsScalar()) return ec.error(n, '\'' + field_name(key, field) + "' must be a string");
  *out = n.Scalar();
  return ok_status();
}

Status read_int(const EntryContext& ec, const YAML::Node& map, const char* key, int64_t min, int64_t max, int64_t* out,
                const std::string& field) {
  YAML::Node n = field_node(map, key);
  if (!present(n)) return ok_status();
  int64_t v = 0;
  if (!n.IsScalar() || !parse_int(n.Scalar(), &v) || v < min || v > max) {
    return ec.error(n, '\'' + field_name(key, field) + "' must be an integer in [" + std::to_string(min) + ", " +
                           std::to_string(max) + "]");
  }
  *out = v;
  return ok_status();
}

Status read_double(const EntryContext& ec, const YAML::Node& map, const char* key, double min, double max, double* out,
                   const std::string& field) {
  YAML::Node n = field_node(map, key);
  if (!present(n)) return ok_status();
  double v = 0;
  if (!n.IsScalar() || !parse_double(n.Scalar(), &v) || v < min || v > max) {
    return ec.error(n, '\'' + field_name(key, field) + "' must be a number in [" + std::to_string(min) + ", " +
                           std::to_string(max) + "]");
  }
  *out = v;
  return ok_status();
}

// Booleans and durations go through the SDK's parser (qplug/sdk/parse.hpp),
// the one the drivers' ConfigReader uses: the same text means the same value
// in a queue entry and in a driver block.
Status read_bool(const EntryContext& ec, const YAML::Node& map, const char* key, bool* out, const std::string& field) {
  YAML::Node n = field_node(map, key);
  if (!present(n)) return ok_status();
  const std::optional<bool> v = n.IsScalar() ? sdk::parse_bool(n.Scalar()) : std::nullopt;
  if (!v) {
    return ec.error(n, '\'' + field_name(key, field) + "' must be a boolean (true/false, yes/no, on/off, 1/0)");
  }
  *out = *v;
  return ok_status();
}

Status read_duration_ms(const EntryContext& ec, const YAML::Node& map, const char* key, int64_t* out,
                        const std::string& field) {
  YAML::Node n = field_node(map, key);
  if (!present(n)) return ok_status();
  const std::optional<int64_t> v = n.IsScalar() ? sdk::parse_duration_ms(n.Scalar()) : std::nullopt;
  if (!v) {
    return ec.error(
        n, '\'' + field_name(key, field) + "' must be a duration: milliseconds, or a number with ms, s, m or h");
  }
  *out = *v;
  return ok_status();
}

Status read_string_list(const EntryContext& ec, const YAML::Node& map, const char* key, std::vector<std::string>* out,
                        const std::string& field) {
  YAML::Node n = field_node(map, key);
  if (!present(n)) return ok_status();
  const std::string name = field_name(key, field);
  if (n.IsScalar()) {
    if (n.Scalar().empty()) return ec.error(n, "'" + name + "' must not be empty");
    out->push_back(n.Scalar());
    return ok_status();
  }
  if (!n.IsSequence()) return ec.error(n, "'" + name + "' must be a string or a list of strings");
  for (const YAML::Node& item : n) {
    if (!item.IsScalar() || item.Scalar().empty()) {
      return ec.error(item, "'" + name + "' items must be non-empty strings");
    }
    out->push_back(item.Scalar());
  }
  return ok_status();
}

Status read_string_map(const EntryContext& ec, const YAML::Node& map, const char* key,
                       std::map<std::string, std::string>* out, const std::string& field) {
  YAML::Node n = field_node(map, key);
  if (!present(n)) return ok_status();
  const std::string name = field_name(key, field);
  if (!n.IsMap()) return ec.error(n, "'" + name + "' must be a map of strings");
  for (auto it = n.begin(); it != n.end(); ++it) {
    if (!it->first.IsScalar() || !(it->second.IsScalar() || it->second.IsNull())) {
      return ec.error(it->first, "'" + name + "' must map names to plain values");
    }
    const std::string value = it->second.IsNull() ? "" : it->second.Scalar();
    if (!out->emplace(it->first.Scalar(), value).second) {
      return ec.error(it->first, "duplicate key '" + it->first.Scalar() + "' in '" + name + "'");
    }
  }
  return ok_status();
}

Status flatten_node(const EntryContext& ec, const YAML::Node& node, const std::string& prefix, KeyValues* out,
                    int depth) {
  if (depth > kMaxFlattenDepth) return ec.error(node, "'" + prefix + "' nests too deeply");
  if (out->size() >= kMaxFlattenedSettings) {
    return ec.error(node, "more than " + std::to_string(kMaxFlattenedSettings) + " settings (alias expansion?)");
  }
  if (!node.IsDefined() || node.IsNull()) {
    out->emplace_back(prefix, "");
    return ok_status();
  }
  if (node.IsScalar()) {
    out->emplace_back(prefix, node.Scalar());
    return ok_status();
  }
  if (node.IsSequence()) {
    const bool all_scalars = std::all_of(node.begin(), node.end(), [](const YAML::Node& n) { return n.IsScalar(); });
    if (all_scalars) {
      std::string joined;
      for (const YAML::Node& item : node) joined += (joined.empty() ? "" : ",") + item.Scalar();
      out->emplace_back(prefix, joined);
      return ok_status();
    }
    size_t index = 0;
    for (const YAML::Node& item : node) {
      Status st = flatten_node(ec, item, prefix + "." + std::to_string(index++), out, depth + 1);
      if (!st.ok()) return st;
    }
    return ok_status();
  }
  if (node.IsMap()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (!it->first.IsScalar() || it->first.Scalar().empty()) {
        return ec.error(it->first, "keys under '" + prefix + "' must be plain strings");
      }
      const std::string key = prefix.empty() ? it->first.Scalar() : prefix + "." + it->first.Scalar();
      for (const auto& [k, v] : *out) {
        if (k == key) return ec.error(it->first, "duplicate setting '" + key + "'");
      }
      Status st = flatten_node(ec, it->second, key, out, depth + 1);
      if (!st.ok()) return st;
    }
    return ok_status();
  }
  return ec.error(node, "'" + prefix + "' has an unsupported YAML type");
}

std::string resolve_path(const FileContext& fc, const std::string& raw) {
  std::string path = raw;
  constexpr std::string_view kFileScheme = "file://";
  if (path.compare(0, kFileScheme.size(), kFileScheme) == 0) path.erase(0, kFileScheme.size());
  const std::filesystem::path p(path);
  if (p.is_absolute() || fc.dir.empty()) return p.lexically_normal().string();
  return (std::filesystem::path(fc.dir) / p).lexically_normal().string();
}

}  // namespace qplug::config
