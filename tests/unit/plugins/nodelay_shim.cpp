// nodelay_shim.cpp -- the real memory driver minus QPLUG_CAP_DELAY, for the
// core's refusal of `delay` on a driver that cannot honour it (contract A).
//
// Loads the built memory plugin and hands out a copy of its vtable under the
// name "nodelay" with the delay bit cleared, so every op is the memory
// driver's own: the test exercises a working driver, not a stub.
#include <dlfcn.h>
#include <qplug/driver.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

extern "C" QPLUG_EXPORT const qplug_driver_v1* qplug_driver_entry(uint32_t major, uint32_t minor, qplug_status* st) {
  static qplug_driver_v1 copy;
  void* lib = dlopen(QPLUG_MEMORY_PLUGIN, RTLD_NOW | RTLD_LOCAL);
  auto entry =
      lib == nullptr ? nullptr : reinterpret_cast<qplug_driver_entry_fn>(dlsym(lib, QPLUG_DRIVER_ENTRY_SYMBOL));
  if (entry == nullptr) {
    st->code = QPLUG_INVALID;
    std::snprintf(st->message, sizeof st->message, "nodelay shim: cannot load %s", QPLUG_MEMORY_PLUGIN);
    return nullptr;
  }
  const qplug_driver_v1* vt = entry(major, minor, st);
  if (vt == nullptr) return nullptr;
  std::memcpy(&copy, vt, std::min<size_t>(vt->struct_size, sizeof copy));
  copy.struct_size = static_cast<uint32_t>(std::min<size_t>(vt->struct_size, sizeof copy));
  copy.name = "nodelay";
  copy.capabilities &= ~QPLUG_CAP_DELAY;
  return &copy;
}
