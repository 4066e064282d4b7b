// Loading one plugin file: dlopen, entry lookup, ABI negotiation, cache.
//
// Plugins are opened RTLD_NOW (unresolved symbols fail here, not at the first
// call), RTLD_LOCAL (a plugin's client library never satisfies another's
// symbols) and RTLD_NODELETE, and never dlclose()d -- not even after a failed
// validation: the plugin's static constructors have already run and may have
// started threads, so unmapping its code is the classic plugin-host crash.
// A leaked handle costs a few pages.
#include <dlfcn.h>
#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <qplug/loader.hpp>

#include "validate_vtable.hpp"

namespace qplug::loader {

namespace {

// Loads are rare (startup, `qplug drivers`), so one lock around everything,
// dlopen included, keeps each file validated exactly once.
std::mutex g_mutex;

// Plugins by realpath; never erased. Deliberately never destroyed either, like
// the code it points into: a static destructor elsewhere (a runtime closing
// its drivers at exit) may still use a Plugin after this file's statics die.
std::map<std::string, std::unique_ptr<Plugin>>& loaded() {
  static auto* cache = new std::map<std::string, std::unique_ptr<Plugin>>();
  return *cache;
}

bool fail(std::string* error, const std::string& path, const std::string& fault) {
  if (error != nullptr) *error = path + ": " + fault;
  return false;
}

// Resolves `path` to its canonical form, or explains why the file is unusable.
bool resolve(const std::string& path, std::string* real, std::string* error) {
  struct stat st {};
  if (path.empty()) return fail(error, "(empty path)", "no such file");
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return fail(error, path, "no such file");
    return fail(error, path, std::string("cannot access (") + std::strerror(errno) + ")");
  }
  if (S_ISDIR(st.st_mode)) return fail(error, path, "is a directory, not a plugin file");
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) {
    return fail(error, path, std::string("cannot resolve path (") + std::strerror(errno) + ")");
  }
  *real = buf;
  return true;
}

// dlerror() text without its "<file>: " prefix (our message already names the file).
std::string dlerror_text(const std::string& real) {
  const char* raw = dlerror();
  std::string why = raw != nullptr ? raw : "unknown dlopen error";
  if (why.rfind(real + ": ", 0) == 0) why.erase(0, real.size() + 2);
  return why;
}

const qplug_driver_v1* call_entry(void* handle, const std::string& path, std::string* error) {
  dlerror();  // clear any stale error so the one below is ours
  void* sym = dlsym(handle, QPLUG_DRIVER_ENTRY_SYMBOL);
  if (sym == nullptr) {
    fail(error, path,
         "missing entry symbol '" QPLUG_DRIVER_ENTRY_SYMBOL
         "' (not a qplug driver, or built without exporting it: see docs/plugin-loading.md)");
    return nullptr;
  }
  auto entry = reinterpret_cast<qplug_driver_entry_fn>(sym);
  qplug_status status{};
  status.code = QPLUG_OK;
  const qplug_driver_v1* vt = entry(QPLUG_ABI_MAJOR, QPLUG_ABI_MINOR, &status);
  status.message[QPLUG_STATUS_MESSAGE_MAX - 1] = '\0';  // never trust the plugin to terminate it
  if (vt == nullptr) {
    const char* reason = status.message[0] != '\0' ? status.message : "(the plugin gave no reason)";
    fail(error, path, std::string("entry returned NULL: ") + reason);
  }
  return vt;
}

}  // namespace

const Plugin* load_file(const std::string& path, std::string* error) {
  std::string real;
  if (!resolve(path, &real, error)) return nullptr;

  std::lock_guard<std::mutex> lock(g_mutex);
  if (auto it = loaded().find(real); it != loaded().end()) return it->second.get();

  void* handle = dlopen(real.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (handle == nullptr) {
    fail(error, path, "not a loadable shared object (" + dlerror_text(real) + ")");
    return nullptr;
  }
  const qplug_driver_v1* vt = call_entry(handle, path, error);
  if (vt == nullptr) return nullptr;
  if (std::string fault = detail::validate_vtable(*vt); !fault.empty()) {
    fail(error, path, fault);
    return nullptr;
  }
  auto plugin = std::make_unique<Plugin>();
  plugin->path = path;
  plugin->name = vt->name;
  plugin->vtable = vt;
  const Plugin* result = plugin.get();
  loaded().emplace(real, std::move(plugin));
  return result;
}

}  // namespace qplug::loader
