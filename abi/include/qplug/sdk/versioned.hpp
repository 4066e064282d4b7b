// qplug/sdk/versioned.hpp -- a zeroed ABI struct with its version header set.
//
// Every versioned struct that crosses the ABI starts with struct_size,
// abi_major and abi_minor; writing those three lines by hand at each call
// site is how one gets forgotten (a missing abi_minor reads as 1.0).
#pragma once

#include <qplug/driver.h>

namespace qplug::sdk {

template <typename T>
T versioned() {
  T v{};
  v.struct_size = sizeof(T);
  v.abi_major = QPLUG_ABI_MAJOR;
  v.abi_minor = QPLUG_ABI_MINOR;
  return v;
}

}  // namespace qplug::sdk
