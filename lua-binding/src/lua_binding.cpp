// lua_binding.cpp -- the per-state Binding and open_modules().
#include "lua_binding.hpp"

#include <new>
#include <qplug/lua.hpp>

#include "lua_errors.hpp"

namespace qplug::lua {
namespace detail {
namespace {

// Registry key: the address of this variable (unique per process).
const char kBindingKey = 0;
constexpr const char* kBindingType = "qplug.binding";

// __gc of the Binding userdata: stops and frees queue.so's own runtime, then
// leaves an inert Binding (runtime == nullptr) for finalizers that run later.  [-0, +0, -]
int binding_gc(lua_State* L) {
  auto* b = static_cast<Binding*>(luaL_checkudata(L, 1, kBindingType));
  if (b->owned) b->owned->stop();
  b->~Binding();
  new (b) Binding();
  return 0;
}

}  // namespace

void push_binding(lua_State* L) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &kBindingKey) == LUA_TUSERDATA) return;
  lua_pop(L, 1);
  void* mem = lua_newuserdatauv(L, sizeof(Binding), 0);
  new (mem) Binding();
  if (luaL_newmetatable(L, kBindingType)) {
    lua_pushcfunction(L, binding_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushliteral(L, "private");
    lua_setfield(L, -2, "__metatable");
  }
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &kBindingKey);
}

Binding* binding(lua_State* L) {
  push_binding(L);
  auto* b = static_cast<Binding*>(lua_touserdata(L, -1));
  lua_pop(L, 1);
  return b;
}

void install_modules(lua_State* L) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  luaopen_errors(L);
  lua_setfield(L, -2, "errors");
  push_queue_module(L);
  lua_setfield(L, -2, "queue");
  lua_pop(L, 1);
}

}  // namespace detail

void open_modules(lua_State* L, Runtime& runtime, const SecurityContext* security) {
  detail::Binding* b = detail::binding(L);
  b->owned.reset();
  b->runtime = &runtime;
  b->has_security = security != nullptr;
  b->security = security ? *security : SecurityContext{};
  detail::install_modules(L);
}

DeliveryScope::DeliveryScope(lua_State* L, Delivery& delivery) : L_(L) {
  detail::Binding* b = detail::binding(L);
  b->delivery = &delivery;
}

DeliveryScope::~DeliveryScope() {
  detail::Binding* b = detail::binding(L_);
  b->delivery = nullptr;
  ++b->generation;  // releases every Message handed out for this delivery
}

SecurityContext security_context(const SecuritySpec& spec) {
  SecurityContext ctx;
  ctx.actor = spec.actor ? &*spec.actor : nullptr;
  ctx.policies = spec.policies;
  return ctx;
}

}  // namespace qplug::lua
