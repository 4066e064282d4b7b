// tests/oot/tutorial_target.cpp -- runs the FULL conformance suite against the
// driver template (examples/driver-template), built out of tree by its own
// CMake project and loaded by explicit path from where that build put it.
#include "conformance.hpp"

namespace qplug::conformance {

Target make_target() {
  Target t;
  t.driver = "tutorial";
  t.plugin_path = QPLUG_TUTORIAL_PLUGIN;
  t.quiet_ms = 50;  // in-process: anything still coming arrives within microseconds
  return t;
}

}  // namespace qplug::conformance
