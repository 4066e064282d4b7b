// tests/conformance/conformance.hpp -- the ONE conformance suite every driver
// passes against its real broker (DESIGN.md section 8).
//
// The suite drives a plugin through the loader and the C ABI only (no core),
// so it tests exactly what a plugin promises. Each driver adds one file,
// tests/conformance/<driver>_target.cpp, defining make_target(), and one line
// in tests/conformance/CMakeLists.txt:
//   qplug_add_conformance(<driver> <driver>_target.cpp [BASIC_ONLY] [LABELS broker:<name>]
//                         [DEPENDS <plugin target>])
// BASIC_ONLY builds only the basic part (used by the out-of-tree plugin).
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace qplug::conformance {

using KeyValues = std::vector<std::pair<std::string, std::string>>;

struct Target {
  std::string driver;       // plugin name (vtable->name), e.g. "memory"
  std::string plugin_path;  // explicit .so path; empty = search the build tree by name
  KeyValues config;         // the driver's open() config
  KeyValues queue_options;  // extra declare() options for every test queue
  // Returns "" when the broker is reachable, else a message naming the broker
  // and address. Unreachable fails the test when CI=true, else skips it.
  std::function<std::string()> broker_check;
  // Restarts the broker (stop, then start again) and returns once it accepts
  // connections; empty when not possible (the restart case is then skipped).
  std::function<bool()> restart_broker;
  // Milliseconds a consumer must wait before it may assume nothing more
  // comes (brokers with network latency need more than the memory driver).
  int quiet_ms = 200;
};

// Defined by each <driver>_target.cpp.
Target make_target();

}  // namespace qplug::conformance
