// Where plugins are looked for, and what their files are called.
#include <algorithm>
#include <cstdlib>
#include <qplug/loader.hpp>

namespace qplug::loader {

std::string plugin_file_name(std::string_view driver_name) { return "qplug_" + std::string(driver_name) + ".so"; }

namespace {

void add_unique(std::vector<std::string>& dirs, std::string dir) {
  // A trailing slash would make "a/" and "a" two entries and produce "a//x" paths.
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  if (dir.empty()) return;  // "a::b" in QPLUG_PLUGIN_PATH: ignore the empty entry
  if (std::find(dirs.begin(), dirs.end(), dir) == dirs.end()) dirs.push_back(std::move(dir));
}

}  // namespace

std::vector<std::string> search_dirs(const std::vector<std::string>& extra) {
  std::vector<std::string> dirs;
  for (const std::string& d : extra) add_unique(dirs, d);
  if (const char* env = std::getenv("QPLUG_PLUGIN_PATH"); env != nullptr) {
    std::string_view rest(env);
    while (true) {
      size_t colon = rest.find(':');
      add_unique(dirs, std::string(rest.substr(0, colon)));
      if (colon == std::string_view::npos) break;
      rest.remove_prefix(colon + 1);
    }
  }
  add_unique(dirs, QPLUG_PLUGIN_BUILD_DIR);
  add_unique(dirs, QPLUG_PLUGIN_INSTALL_DIR);
  return dirs;
}

}  // namespace qplug::loader
