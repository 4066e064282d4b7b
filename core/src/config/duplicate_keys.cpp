// Duplicate-key check of a parsed YAML tree (see duplicate_keys.hpp).
#include "config/duplicate_keys.hpp"

#include <map>
#include <set>
#include <utility>

#include "config/yaml_fields.hpp"

namespace qplug::config {
namespace {

class DuplicateKeyWalker {
 public:
  explicit DuplicateKeyWalker(const std::string& file) : file_(file) {}

  Status walk(const YAML::Node& node, const std::string& path) {
    if (!node.IsMap() && !node.IsSequence()) return ok_status();
    if (!first_visit(node)) return ok_status();
    if (node.IsSequence()) {
      size_t index = 0;
      for (const YAML::Node& item : node) {
        Status st = walk(item, path + '[' + std::to_string(index++) + ']');
        if (!st.ok()) return st;
      }
      return ok_status();
    }
    std::map<std::string, int> lines;  // key -> line of its first occurrence
    for (auto it = node.begin(); it != node.end(); ++it) {
      const std::string key = it->first.IsScalar() ? it->first.Scalar() : std::string();
      const std::string key_path = path.empty() ? key : path + '.' + key;
      if (it->first.IsScalar()) {
        auto [at, inserted] = lines.emplace(key, yaml_line(it->first));
        if (!inserted) {
          return invalid_error(SourceLocation{file_, yaml_line(it->first)}.to_string() + ": duplicate key '" +
                               key_path + "' (first at line " + std::to_string(at->second) +
                               "); keys must be unique in a YAML map, the earlier value would be lost");
        }
      }
      Status st = walk(it->second, key_path);
      if (!st.ok()) return st;
    }
    return ok_status();
  }

 private:
  // An alias is the anchored node itself, at the anchor's position: the first
  // visit of a position checks it, later ones (aliases, "billion laughs") skip.
  bool first_visit(const YAML::Node& node) {
    const YAML::Mark mark = node.Mark();
    if (mark.line < 0) return true;
    return visited_.emplace(mark.line, mark.column).second;
  }

  const std::string& file_;
  std::set<std::pair<int, int>> visited_;
};

}  // namespace

Status check_duplicate_keys(const YAML::Node& root, const std::string& file) {
  return DuplicateKeyWalker(file).walk(root, "");
}

}  // namespace qplug::config
