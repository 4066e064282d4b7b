// driver_instance.cpp -- loading and opening one driver entry.
#include "runtime/driver_instance.hpp"

#include <chrono>
#include <thread>

#include "runtime/abi_message.hpp"
#include "runtime/abi_status.hpp"
#include "runtime/host_services.hpp"

namespace qplug::detail {
namespace {

constexpr uint32_t kCloseTimeoutMs = 5000;
constexpr auto kStragglerGrace = std::chrono::seconds(5);

std::string entry_context(const DriverEntry& e) { return "driver entry '" + e.id + "' (" + e.where.to_string() + ")"; }

}  // namespace

Result<const loader::Plugin*> find_plugin(const DriverEntry& entry, const std::vector<std::string>& search_dirs) {
  std::string error;
  const loader::Plugin* plugin = entry.plugin.empty() ? loader::load_driver(entry.driver, search_dirs, &error)
                                                      : loader::load_file(entry.plugin, &error);
  if (plugin == nullptr) {
    return invalid_error(entry_context(entry) + ": cannot load driver '" + entry.driver + "': " + error);
  }
  if (plugin->name != entry.driver) {
    return invalid_error(entry_context(entry) + ": plugin " + plugin->path + " provides driver '" + plugin->name +
                         "', not '" + entry.driver + "'");
  }
  return plugin;
}

Result<std::unique_ptr<DriverInstance>> DriverInstance::open(const DriverEntry& entry,
                                                             const std::vector<std::string>& search_dirs) {
  auto plugin = find_plugin(entry, search_dirs);
  if (!plugin.ok()) return plugin.status();
  const std::vector<qplug_kv> kvs = to_abi_kvs(entry.settings);
  qplug_status st = fresh_abi_status();
  qplug_driver* handle = (*plugin)->vtable->open(host_services_for(entry.id), kvs.data(), kvs.size(), &st);
  if (handle == nullptr) {
    if (st.code == QPLUG_OK) st.code = QPLUG_INTERNAL;  // a NULL handle is a failure whatever it says
    Status s = status_from_abi(st, entry_context(entry) + ": open failed");
    return Status(s.kind(), s.message(), s.retryable());
  }
  return std::unique_ptr<DriverInstance>(new DriverInstance(entry, *plugin, handle));
}

void DriverInstance::close() {
  if (handle_ == nullptr) return;
  const auto deadline = std::chrono::steady_clock::now() + kStragglerGrace;
  while (stragglers_->load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (stragglers_->load() > 0) {
    log_line(QPLUG_LOG_ERROR, "runtime",
             "driver entry '" + entry_->id + "' left open: " + std::to_string(stragglers_->load()) +
                 " handler(s) still running after shutdown");
    handle_ = nullptr;
    return;
  }
  vt()->close(handle_, kCloseTimeoutMs);
  handle_ = nullptr;
}

DriverInstance::~DriverInstance() { close(); }

}  // namespace qplug::detail
