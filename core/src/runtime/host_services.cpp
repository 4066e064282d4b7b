// host_services.cpp -- logging and clocks offered to plugins (and to core).
#include "runtime/host_services.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>

namespace qplug::detail {
namespace {

// A value that is none of the four names is reported once, naming it, and
// the documented default (warn) applies: a typo never silently changes what
// is logged (docs/operations.md "Logging").
int32_t level_from_env() {
  const char* v = std::getenv("QPLUG_LOG");
  if (v == nullptr || *v == '\0') return QPLUG_LOG_WARN;
  if (std::strcmp(v, "debug") == 0) return QPLUG_LOG_DEBUG;
  if (std::strcmp(v, "info") == 0) return QPLUG_LOG_INFO;
  if (std::strcmp(v, "warn") == 0) return QPLUG_LOG_WARN;
  if (std::strcmp(v, "error") == 0) return QPLUG_LOG_ERROR;
  const std::string line =
      "qplug[warn] environment: QPLUG_LOG='" + std::string(v) + "' is not debug, info, warn or error; using warn\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
  return QPLUG_LOG_WARN;
}

int32_t min_level() {
  static const int32_t level = level_from_env();
  return level;
}

// Read at start-up, so a bad QPLUG_LOG is reported even by a run that never
// logs (`qplug check` of a good config).
[[maybe_unused]] const int32_t kLevelAtStart = min_level();

const char* level_name(int32_t level) {
  switch (level) {
    case QPLUG_LOG_DEBUG:
      return "debug";
    case QPLUG_LOG_INFO:
      return "info";
    case QPLUG_LOG_WARN:
      return "warn";
    default:
      return "error";
  }
}

// host_ud is the driver entry's ID (host_services_for) or NULL: lines name
// the entry so a config with two redis drivers says which one it means.
void host_log(void* host_ud, int32_t level, const char* driver_name, const char* msg) {
  const std::string_view driver = driver_name == nullptr ? "driver" : driver_name;
  if (host_ud == nullptr) {
    log_line(level, driver, msg == nullptr ? "" : msg);
    return;
  }
  const std::string who = std::string(driver) + " driver '" + *static_cast<const std::string*>(host_ud) + "'";
  log_line(level, who, msg == nullptr ? "" : msg);
}

uint64_t host_monotonic_ns(void*) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

uint64_t host_wall_ms(void*) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

}  // namespace

bool log_enabled(int32_t level) { return level >= min_level(); }

void log_line(int32_t level, std::string_view who, std::string_view message) {
  if (!log_enabled(level)) return;
  // One fwrite per line so lines from several threads do not interleave.
  std::string line = "qplug[";
  line += level_name(level);
  line += "] ";
  line += who;
  line += ": ";
  line += message;
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
}

const qplug_host_v1* host_services_for(const std::string& entry_id) {
  // Tables are never freed: a driver's threads may log until the process
  // ends (a driver left open after a shutdown timeout is never closed).
  struct Labelled {
    std::string label;
    qplug_host_v1 table;
  };
  static std::mutex mu;
  static std::deque<Labelled> tables;  // deque: elements never move
  std::lock_guard lock(mu);
  for (const Labelled& t : tables) {
    if (t.label == entry_id) return &t.table;
  }
  Labelled& t = tables.emplace_back(Labelled{entry_id, *host_services()});
  t.table.host_ud = &t.label;
  return &t.table;
}

const qplug_host_v1* host_services() {
  static const qplug_host_v1 table = [] {
    qplug_host_v1 t{};
    t.struct_size = sizeof(qplug_host_v1);
    t.abi_major = QPLUG_ABI_MAJOR;
    t.abi_minor = QPLUG_ABI_MINOR;
    t.host_ud = nullptr;
    t.log = host_log;
    t.monotonic_ns = host_monotonic_ns;
    t.wall_ms = host_wall_ms;
    return t;
  }();
  return &table;
}

}  // namespace qplug::detail
