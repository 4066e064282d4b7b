// Lookups in a loaded Config. Registries are small (tens of entries) and the
// runtime indexes what it needs at start-up, so linear scans keep Config a plain
// aggregate.
#include <qplug/config.hpp>

namespace qplug {
namespace {

template <typename Entry>
const Entry* config_find_by_id(const std::vector<Entry>& entries, std::string_view id) {
  for (const Entry& e : entries) {
    if (e.id == id) return &e;
  }
  return nullptr;
}

}  // namespace

const DriverEntry* Config::find_driver(std::string_view id) const { return config_find_by_id(drivers, id); }
const QueueEntry* Config::find_queue(std::string_view id) const { return config_find_by_id(queues, id); }
const FunctionEntry* Config::find_function(std::string_view id) const { return config_find_by_id(functions, id); }
const PolicyEntry* Config::find_policy(std::string_view id) const { return config_find_by_id(policies, id); }

}  // namespace qplug
