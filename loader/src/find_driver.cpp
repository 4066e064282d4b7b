// Finding plugins by driver name in the search directories, and listing them.
#include <algorithm>
#include <filesystem>
#include <qplug/loader.hpp>
#include <set>
#include <system_error>

#include "validate_vtable.hpp"

namespace qplug::loader {

namespace fs = std::filesystem;

namespace {

bool is_file(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

std::string join(const std::vector<std::string>& dirs) {
  if (dirs.empty()) return "(no search directories)";
  std::string out;
  for (const std::string& d : dirs) out += (out.empty() ? "" : ", ") + d;
  return out;
}

// The vtable name must agree with the file name, or `driver: x` in YAML would
// silently run a different driver than the one asked for.
const Plugin* check_name(const Plugin* plugin, std::string_view expected, std::string* error) {
  if (plugin == nullptr || plugin->name == expected) return plugin;
  if (error != nullptr) {
    *error = plugin->path + ": driver name mismatch: file is for driver '" + std::string(expected) +
             "' but the plugin calls itself '" + plugin->name + "'";
  }
  return nullptr;
}

// "qplug_memory.so" -> "memory"; "" when the file is not named like a plugin.
std::string driver_name_of(const std::string& file_name) {
  const std::string prefix = "qplug_", suffix = ".so";
  if (file_name.size() <= prefix.size() + suffix.size()) return "";
  if (file_name.compare(0, prefix.size(), prefix) != 0) return "";
  if (file_name.compare(file_name.size() - suffix.size(), suffix.size(), suffix) != 0) return "";
  return file_name.substr(prefix.size(), file_name.size() - prefix.size() - suffix.size());
}

// Plugin files of one directory, sorted so discovery is deterministic.
std::vector<fs::path> plugin_files(const std::string& dir, std::vector<std::string>* errors) {
  std::vector<fs::path> files;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return files;  // absent dirs (e.g. no install) are normal
  fs::directory_iterator it(dir, ec);
  if (ec) {
    if (errors != nullptr) errors->push_back(dir + ": cannot list plugin directory (" + ec.message() + ")");
    return files;
  }
  for (const fs::directory_entry& entry : it) {
    if (!driver_name_of(entry.path().filename().string()).empty()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

const Plugin* load_driver(std::string_view driver_name, const std::vector<std::string>& dirs, std::string* error) {
  if (std::string fault = detail::check_driver_name(std::string(driver_name).c_str()); !fault.empty()) {
    if (error != nullptr) *error = "driver '" + std::string(driver_name) + "': " + fault;
    return nullptr;
  }
  const std::string file = plugin_file_name(driver_name);
  for (const std::string& dir : dirs) {
    std::string candidate = dir + "/" + file;
    // The first file found wins, even if broken: falling through to another
    // directory would hide the fault and run a plugin nobody asked for.
    if (is_file(candidate)) return check_name(load_file(candidate, error), driver_name, error);
  }
  if (error != nullptr) {
    *error = "driver '" + std::string(driver_name) + "': no plugin " + file + " in " + join(dirs) +
             " (set QPLUG_PLUGIN_PATH or give plugin: in the config)";
  }
  return nullptr;
}

std::vector<const Plugin*> discover(const std::vector<std::string>& dirs, std::vector<std::string>* errors) {
  std::vector<const Plugin*> found;
  std::set<std::string> seen;  // driver names already taken by an earlier directory
  for (const std::string& dir : dirs) {
    for (const fs::path& file : plugin_files(dir, errors)) {
      std::string name = driver_name_of(file.filename().string());
      if (!seen.insert(name).second) continue;  // shadowed by an earlier directory
      std::string error;
      const Plugin* plugin = check_name(load_file(file.string(), &error), name, &error);
      if (plugin != nullptr) {
        found.push_back(plugin);
      } else if (errors != nullptr) {
        errors->push_back(error);
      }
    }
  }
  return found;
}

}  // namespace qplug::loader
