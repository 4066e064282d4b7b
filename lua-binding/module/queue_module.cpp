// queue_module.cpp -- queue.so, the `queue` module for stock lua5.4.
//
//   $ export QPLUG_CONFIG=app.yaml
//   $ lua5.4 -e 'package.cpath="build/lua/?.so;"..package.cpath; local q = require("queue");
//                print(q.publish("app:tasks", {n = 1}))'
//
// The module owns its Runtime: loaded at require time from $QPLUG_CONFIG, or
// later by queue.configure(path). It is stopped when the state closes (the
// Binding's __gc), before Lua unloads this library. The interpreter provides
// the lua_* symbols; this file exports only the two luaopen_ functions (see
// queue_module.map). errors.so is a symlink to this file, so
// require("errors") also works before require("queue").
#include <cstdlib>
#include <qplug/lua.hpp>
#include <string>

#include "lua_binding.hpp"
#include "lua_errors.hpp"

namespace qplug::lua::detail {
namespace {

Status configure(Binding* b, const std::string& path) {
  Result<std::unique_ptr<Runtime>> rt = Runtime::load(path);
  if (!rt.ok()) return rt.status();
  if (b->owned) b->owned->stop();
  b->owned = std::move(rt).value();
  b->runtime = b->owned.get();
  return ok_status();
}

// queue.configure(path) -> true | nil, err: (re)loads the config; the previous
// runtime, if any, is stopped.  [-1, +(1|2), v]
int queue_configure(lua_State* L) {
  size_t len = 0;
  const char* path = luaL_checklstring(L, 1, &len);
  auto* b = static_cast<Binding*>(lua_touserdata(L, lua_upvalueindex(1)));
  Status st = configure(b, std::string(path, len));
  if (!st.ok()) return push_fail(L, st);
  lua_pushboolean(L, 1);
  return 1;
}

// Configures from $QPLUG_CONFIG; pushes an error message on failure.  [-0, +(0|1), m]
bool configure_from_env(lua_State* L, Binding* b) {
  const char* path = std::getenv("QPLUG_CONFIG");
  if (b->runtime != nullptr || path == nullptr || *path == '\0') return true;
  Status st = configure(b, path);
  if (st.ok()) return true;
  std::string text = "queue: QPLUG_CONFIG=" + std::string(path) + ": " + st.to_string();
  lua_pushlstring(L, text.data(), text.size());
  return false;
}

}  // namespace
}  // namespace qplug::lua::detail

extern "C" __attribute__((visibility("default"))) int luaopen_errors(lua_State* L) {
  return qplug::lua::luaopen_errors(L);
}

// require("queue")  [-0, +1, e]
extern "C" __attribute__((visibility("default"))) int luaopen_queue(lua_State* L) {
  using namespace qplug::lua::detail;
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_errors);
  lua_setfield(L, -2, "errors");
  lua_pop(L, 1);
  Binding* b = binding(L);
  if (!configure_from_env(L, b)) return lua_error(L);
  push_queue_module(L);
  push_binding(L);
  lua_pushcclosure(L, queue_configure, 1);
  lua_setfield(L, -2, "configure");
  return 1;
}
