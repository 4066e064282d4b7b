// qplug/sdk/entry.hpp -- ABI version negotiation for qplug_driver_entry().
//
//   extern "C" QPLUG_EXPORT const qplug_driver_v1* qplug_driver_entry(uint32_t major, uint32_t minor,
//                                                                     qplug_status* st) {
//     return qplug::sdk::negotiate_entry(kVtable, major, minor, st);
//   }
//
// The rule every driver follows (driver.h, DESIGN.md section 2): a different
// major is refused with a reason; any host minor is accepted, because minors
// only append fields and a driver reads a host struct's field only when the
// struct_size covers it. A driver that cannot work without something a later
// minor added passes min_host_minor and is refused, with the reason, by older
// hosts. No threads, no I/O, never throws: safe to call first thing.
#pragma once

#include <qplug/driver.h>

#include <cstdint>
#include <qplug/sdk/status.hpp>

namespace qplug::sdk {

// Returns &vtable when the host can load it, else NULL with `st` filled
// (INVALID, not retryable) naming the driver and both versions.
inline const qplug_driver_v1* negotiate_entry(const qplug_driver_v1& vtable, uint32_t host_major, uint32_t host_minor,
                                              qplug_status* st, uint32_t min_host_minor = 0) {
  const char* name = vtable.name == nullptr ? "?" : vtable.name;
  if (host_major != vtable.abi_major) {
    fail(st, QPLUG_INVALID, false, "%s driver speaks ABI %u.x (built against %u.%u), host speaks %u.%u", name,
         static_cast<unsigned>(vtable.abi_major), static_cast<unsigned>(vtable.abi_major),
         static_cast<unsigned>(vtable.abi_minor), static_cast<unsigned>(host_major), static_cast<unsigned>(host_minor));
    return nullptr;
  }
  if (host_minor < min_host_minor) {
    fail(st, QPLUG_INVALID, false, "%s driver needs host ABI %u.%u or newer, host speaks %u.%u", name,
         static_cast<unsigned>(vtable.abi_major), static_cast<unsigned>(min_host_minor),
         static_cast<unsigned>(host_major), static_cast<unsigned>(host_minor));
    return nullptr;
  }
  return &vtable;
}

}  // namespace qplug::sdk
