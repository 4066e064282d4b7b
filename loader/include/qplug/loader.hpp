// qplug/loader.hpp -- finds, dlopens and validates driver plugins.
//
// Depends on abi/ only (no core types): failures come back as a message that
// names the file and the fault. Plugins are opened RTLD_NOW|RTLD_LOCAL and
// never closed; each file is loaded and validated once and cached.
#pragma once

#include <qplug/driver.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace qplug::loader {

struct Plugin {
  std::string path;                         // the file actually loaded (as given or found)
  std::string name;                         // vtable->name
  const qplug_driver_v1* vtable = nullptr;  // validated: mandatory ops non-NULL
};

// File name a driver is looked up by in the search directories:
// "memory" -> "qplug_memory.so".
std::string plugin_file_name(std::string_view driver_name);

// Search directories in order: `extra` (e.g. from the runtime options), then
// each entry of $QPLUG_PLUGIN_PATH (colon-separated), then the build tree's
// plugin directory, then the install prefix's plugin directory.
std::vector<std::string> search_dirs(const std::vector<std::string>& extra = {});

// Loads one file. On failure returns nullptr and sets *error to a message
// naming the file and the specific fault (missing file, not a shared object,
// missing entry symbol, entry returned NULL: <plugin's reason>, ABI major
// mismatch, struct too small, NULL mandatory op <name>, ...). Thread-safe.
const Plugin* load_file(const std::string& path, std::string* error);

// Finds `driver_name` in `dirs` and loads it; checks vtable->name matches.
const Plugin* load_driver(std::string_view driver_name, const std::vector<std::string>& dirs, std::string* error);

// Every loadable qplug_*.so in `dirs` (first found wins per name); files that
// fail to load are reported in *errors (may be NULL).
std::vector<const Plugin*> discover(const std::vector<std::string>& dirs, std::vector<std::string>* errors);

// ---------------------------------------------------------------------------
// ABI negotiation. A vtable is accepted when its major equals QPLUG_ABI_MAJOR
// and its struct_size covers at least the v1.0 layout (every field up to and
// including consumer_free); a larger struct from a newer minor is accepted and
// its extra fields ignored. Fields appended after v1.0 are optional and must
// only be read through the accessors below, which check struct_size first.
// ---------------------------------------------------------------------------

// Size of the smallest acceptable qplug_driver_v1 (the v1.0 layout).
inline constexpr size_t kMinDriverStructSize = offsetof(qplug_driver_v1, queue_info);

// True when a vtable of `struct_size` bytes contains the field occupying
// [offset, offset + size).
inline bool vtable_covers(const qplug_driver_v1& vt, size_t offset, size_t size) {
  return vt.struct_size >= offset + size;
}

// The plugin's JSON Schema for its config, or nullptr when it has none.
const char* config_schema(const Plugin& plugin);

// The optional queue_info op, or nullptr when unsupported or when the plugin's
// vtable predates it.
using QueueInfoFn = int32_t (*)(qplug_queue*, qplug_queue_info*, qplug_status*);
QueueInfoFn queue_info(const Plugin& plugin);

// The capabilities of one open instance: the plugin's instance_capabilities
// op (ABI 1.1) when its vtable has one, else the static vtable bits.
uint64_t instance_capabilities(const Plugin& plugin, qplug_driver* instance);

}  // namespace qplug::loader
