// Accessors for vtable fields a plugin may lack: NULL, or beyond its struct_size
// (an older minor's shorter vtable, whose memory past struct_size is not ours to read).
#include <qplug/loader.hpp>

namespace qplug::loader {

#define QPLUG_VTABLE_FIELD(vt, field) \
  (vtable_covers(vt, offsetof(qplug_driver_v1, field), sizeof(qplug_driver_v1::field)) ? (vt).field : nullptr)

const char* config_schema(const Plugin& plugin) {
  auto fn = QPLUG_VTABLE_FIELD(*plugin.vtable, config_schema);
  return fn == nullptr ? nullptr : fn();
}

QueueInfoFn queue_info(const Plugin& plugin) { return QPLUG_VTABLE_FIELD(*plugin.vtable, queue_info); }

uint64_t instance_capabilities(const Plugin& plugin, qplug_driver* instance) {
  auto fn = QPLUG_VTABLE_FIELD(*plugin.vtable, instance_capabilities);
  return fn == nullptr ? plugin.vtable->capabilities : fn(instance);
}

#undef QPLUG_VTABLE_FIELD

}  // namespace qplug::loader
