// lua_binding.hpp -- the per-lua_State state behind the `queue` module.
//
// One Binding lives in each lua_State that has the modules (a full userdata
// anchored in the registry, destroyed by its __gc at lua_close). The queue
// functions reach it as upvalue 1, so a call costs no registry lookup.
#pragma once

#include <cstdint>
#include <lua.hpp>
#include <memory>
#include <qplug/runtime.hpp>
#include <qplug/value.hpp>

namespace qplug::lua::detail {

struct Binding {
  Runtime* runtime = nullptr;  // null until configured (queue.so) or after close
  SecurityContext security;
  bool has_security = false;
  // Consumer context: the delivery being handled, or null. `generation` grows
  // when a delivery scope ends, which releases every Message made for it.
  Delivery* delivery = nullptr;
  uint64_t generation = 0;
  std::unique_ptr<Runtime> owned;  // queue.so's own runtime (queue.configure)
  // Scratch space reused by every publish from this state (a lua_State never
  // re-enters publish), so a publish allocates no Value/Headers containers.
  Value scratch_value;
  Headers scratch_headers;

  const SecurityContext* security_or_null() const { return has_security ? &security : nullptr; }
};

// Finds the state's Binding, creating it (anchored in the registry) on first
// use. [-0, +0, m]
Binding* binding(lua_State* L);
// Pushes the Binding's userdata. [-0, +1, m]
void push_binding(lua_State* L);

// Registers "queue" and "errors" in package.loaded (and `errors` in
// package.preload), with the Binding as the queue functions' upvalue. [-0, +0, m]
void install_modules(lua_State* L);
// Pushes a new queue module table. [-0, +1, m]
void push_queue_module(lua_State* L);

// Message objects: [-0, +1, m]
void push_message(lua_State* L, Binding* b);
// Registers the Message metatable (once). [-0, +0, m]
void register_message_type(lua_State* L);

}  // namespace qplug::lua::detail
