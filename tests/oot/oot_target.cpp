// tests/oot/oot_target.cpp -- runs the basic conformance suite against the
// out-of-tree plugin, loaded by explicit path from where its own build put it.
#include "conformance.hpp"

namespace qplug::conformance {

Target make_target() {
  Target t;
  t.driver = "oot";
  t.plugin_path = QPLUG_OOT_PLUGIN;
  t.quiet_ms = 50;  // in-process: anything still coming arrives within microseconds
  return t;
}

}  // namespace qplug::conformance
