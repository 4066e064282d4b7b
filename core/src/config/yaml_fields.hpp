// Typed, located reads of YAML fields for the config loader. Every failure is an
// INVALID Status that names file, line, entry and field, e.g.
//   app.yaml:12: entry 'app:tasks' (queue.queue): 'prefetch' must be an integer in [1, 100000]
#pragma once

#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <map>
#include <qplug/config.hpp>
#include <string>
#include <vector>

namespace qplug::config {

// The file being parsed.
struct FileContext {
  std::string file;  // as named in errors
  std::string dir;   // relative paths in the file resolve against this ("" = leave relative)
  std::string ns;    // the file's namespace
};

// The entry being parsed: where errors point.
struct EntryContext {
  const FileContext* file = nullptr;
  std::string id;    // full ID, or "#N" before the name is known
  std::string kind;  // entry kind as written
  int line = 0;      // line of the entry itself

  // "file:line: entry 'id' (kind): message", using `at`'s line when it has one.
  Status error(const YAML::Node& at, const std::string& message) const;
  Status error(const std::string& message) const;
  SourceLocation where() const { return {file->file, line}; }
};

// 1-based line of a node; 0 when the node has no position (missing field).
int yaml_line(const YAML::Node& node);

// Errors on the first key of `map` not in `allowed` (or a duplicated key).
Status check_fields(const EntryContext& ec, const YAML::Node& map, std::initializer_list<const char*> allowed,
                    const std::string& prefix = "");

// The field `key` of `map` as the caller's type. Missing (or null) fields leave
// *out untouched and succeed unless `required`. `field` is the name used in errors.
Status read_string(const EntryContext& ec, const YAML::Node& map, const char* key, std::string* out,
                   bool required = false, const std::string& field = "");
Status read_int(const EntryContext& ec, const YAML::Node& map, const char* key, int64_t min, int64_t max, int64_t* out,
                const std::string& field = "");
Status read_double(const EntryContext& ec, const YAML::Node& map, const char* key, double min, double max, double* out,
                   const std::string& field = "");
Status read_bool(const EntryContext& ec, const YAML::Node& map, const char* key, bool* out,
                 const std::string& field = "");
// Durations: an integer (milliseconds) or a number with a unit: "250ms", "1.5s", "2m", "1h".
Status read_duration_ms(const EntryContext& ec, const YAML::Node& map, const char* key, int64_t* out,
                        const std::string& field = "");
// A string or a list of strings.
Status read_string_list(const EntryContext& ec, const YAML::Node& map, const char* key, std::vector<std::string>* out,
                        const std::string& field = "");
// A map of scalars (actor meta, policy conditions).
Status read_string_map(const EntryContext& ec, const YAML::Node& map, const char* key,
                       std::map<std::string, std::string>* out, const std::string& field = "");

// Flattens `node` into dotted keys under `prefix`: nested maps become a.b.c;
// a sequence of scalars becomes one comma-joined value; a sequence holding maps
// or sequences becomes a.0.x, a.1.x; null becomes "".
Status flatten_node(const EntryContext& ec, const YAML::Node& node, const std::string& prefix, KeyValues* out,
                    int depth = 0);

// A path from the config, resolved against the file's directory ("file://" prefix accepted).
std::string resolve_path(const FileContext& fc, const std::string& raw);

}  // namespace qplug::config
