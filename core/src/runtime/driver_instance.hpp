// driver_instance.hpp -- one opened queue.driver entry: its plugin, its
// qplug_driver handle, and the bookkeeping that makes close() safe.
#pragma once

#include <qplug/driver.h>

#include <atomic>
#include <memory>
#include <qplug/config.hpp>
#include <qplug/loader.hpp>
#include <qplug/status.hpp>
#include <string>
#include <vector>

namespace qplug::detail {

class DriverInstance {
 public:
  // Loads the plugin (explicit `plugin:` path or by driver name in
  // `search_dirs`) and open()s it with the entry's flattened settings.
  static Result<std::unique_ptr<DriverInstance>> open(const DriverEntry& entry,
                                                      const std::vector<std::string>& search_dirs);
  ~DriverInstance();
  DriverInstance(const DriverInstance&) = delete;
  DriverInstance& operator=(const DriverInstance&) = delete;

  const DriverEntry& entry() const { return *entry_; }
  const loader::Plugin& plugin() const { return *plugin_; }
  const qplug_driver_v1* vt() const { return plugin_->vtable; }
  qplug_driver* handle() const { return handle_; }
  // What this open instance can do (its settings may switch capabilities
  // off): read once at open through loader::instance_capabilities.
  uint64_t capabilities() const { return capabilities_; }
  // Handlers still running after their subscription's shutdown timeout; while
  // any remain, close() is skipped (leaking the instance beats freeing memory
  // a late settle() would touch).
  const std::shared_ptr<std::atomic<int>>& stragglers() const { return stragglers_; }

  // Idempotent; closes the driver (joins its threads).
  void close();

 private:
  DriverInstance(const DriverEntry& entry, const loader::Plugin* plugin, qplug_driver* handle)
      : entry_(&entry),
        plugin_(plugin),
        handle_(handle),
        capabilities_(loader::instance_capabilities(*plugin, handle)) {}

  const DriverEntry* entry_;
  const loader::Plugin* plugin_;
  qplug_driver* handle_;
  uint64_t capabilities_;
  std::shared_ptr<std::atomic<int>> stragglers_ = std::make_shared<std::atomic<int>>(0);
};

// Resolves the plugin of an entry without opening it (used by `qplug check`).
Result<const loader::Plugin*> find_plugin(const DriverEntry& entry, const std::vector<std::string>& search_dirs);

}  // namespace qplug::detail
