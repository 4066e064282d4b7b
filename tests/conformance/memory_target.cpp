// tests/conformance/memory_target.cpp -- runs the conformance suite against
// the in-process memory driver: no broker to check, nothing to restart.
#include "conformance.hpp"

namespace qplug::conformance {

Target make_target() {
  Target t;
  t.driver = "memory";
  t.quiet_ms = 50;  // in-process: anything still coming arrives within microseconds
  return t;
}

}  // namespace qplug::conformance
