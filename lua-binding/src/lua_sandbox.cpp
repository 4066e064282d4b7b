// lua_sandbox.cpp -- the safe standard library subset, sandboxed `require`
// and read-only qplug modules (docs/security.md "Lua sandbox").
//
// Every replaced base function is a C closure over the original (upvalue 1),
// so the original is reachable from C only. Functions that raise do so
// before any C++ object is alive in their frame (lua_error longjmps).
#include "lua_sandbox.hpp"

#include <algorithm>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <system_error>

#include "lua_errors.hpp"

namespace qplug::lua::detail {
namespace {

// Registry keys: the addresses of these variables.
const char kQplugModulesKey = 0;  // name -> read-only proxy of queue / errors
const char kProtectedKey = 0;     // weak set of read-only tables (rawset refuses them)
const char kGrantsKey = 0;        // set of module names the entry's `modules:` grants
const char kStockRequireKey = 0;  // the standard require, for granted names only
const char kSourceDirKey = 0;     // the directory sandboxed require may load from

constexpr const char* kProtectedMetatable = "protected";
constexpr const char* kLibraryGrants[] = {"io", "os", "debug", "package"};

bool is_library_grant(const std::string& name) {
  return std::find(std::begin(kLibraryGrants), std::end(kLibraryGrants), name) != std::end(kLibraryGrants);
}

bool has_grant(const Sandbox& sandbox, const char* name) {
  return std::find(sandbox.grants.begin(), sandbox.grants.end(), name) != sandbox.grants.end();
}

// Calls the original (upvalue 1) with this call's arguments.  [-n, +r, e]
int forward(lua_State* L) {
  int n = lua_gettop(L);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, n, LUA_MULTRET);
  return lua_gettop(L);
}

// load(chunk [, chunkname [, mode [, env]]]): text chunks only. Bytecode is
// not verified by the VM, so loading it can corrupt memory.  [-(0..4), +(1|2), e]
int sb_load(lua_State* L) {
  if (lua_gettop(L) < 3) lua_settop(L, 3);  // an absent env stays absent (index 4 is none)
  lua_pushliteral(L, "t");
  lua_replace(L, 3);
  return forward(L);
}

// collectgarbage([opt]): only what cannot stop or retune the collector.  [-(0|1), +1, e]
int sb_collectgarbage(lua_State* L) {
  const char* opt = luaL_optstring(L, 1, "collect");
  for (const char* allowed : {"collect", "count", "step", "isrunning"}) {
    if (std::string_view(opt) == allowed) return forward(L);
  }
  return luaL_error(
      L, "collectgarbage('%s') is not available in the qplug sandbox (allowed: collect, count, step, isrunning)", opt);
}

// setmetatable(t, mt): no __gc. Finalizers run with debug hooks off, so a
// loop inside one would run past the instruction budget.  [-2, +1, e]
int sb_setmetatable(lua_State* L) {
  if (lua_type(L, 2) == LUA_TTABLE) {
    lua_pushliteral(L, "__gc");
    if (lua_rawget(L, 2) != LUA_TNIL) {
      return luaL_error(L,
                        "__gc metamethods are not available in the qplug sandbox (finalizers run outside the budget)");
    }
    lua_pop(L, 1);
  }
  return forward(L);
}

bool is_protected(lua_State* L, int index) {
  index = lua_absindex(L, index);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &kProtectedKey);
  lua_pushvalue(L, index);
  bool yes = lua_rawget(L, -2) != LUA_TNIL;
  lua_pop(L, 2);
  return yes;
}

// rawset(t, k, v): refuses the read-only qplug modules.  [-3, +1, e]
int sb_rawset(lua_State* L) {
  if (is_protected(L, 1)) return luaL_error(L, "attempt to modify a read-only qplug module");
  return forward(L);
}

// __newindex of a read-only module; upvalue 1 = its name.  [-3, +0, e]
int readonly_newindex(lua_State* L) {
  return luaL_error(L, "attempt to modify the read-only module '%s'", lua_tostring(L, lua_upvalueindex(1)));
}

// next over the real module (upvalue of __pairs), whatever the global `next` is.  [-2, +(1|2), e]
int module_next(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 2);
  if (lua_next(L, 1) != 0) return 2;
  lua_pushnil(L);
  return 1;
}

// __pairs of a read-only module: iterates the real table.  [-1, +3, -]
int module_pairs(lua_State* L) {
  lua_pushcfunction(L, module_next);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushnil(L);
  return 3;
}

// Replaces package.loaded[name] by an empty proxy that reads through to it,
// refuses writes, and hides its metatable; records it for require.  [-0, +0, m]
void protect_module(lua_State* L, int loaded, int qplug_modules, const char* name) {
  if (lua_getfield(L, loaded, name) != LUA_TTABLE) {
    lua_pop(L, 1);
    return;
  }
  int real = lua_gettop(L);
  lua_newtable(L);  // proxy
  lua_createtable(L, 0, 4);
  lua_pushvalue(L, real);
  lua_setfield(L, -2, "__index");
  lua_pushstring(L, name);
  lua_pushcclosure(L, readonly_newindex, 1);
  lua_setfield(L, -2, "__newindex");
  lua_pushvalue(L, real);
  lua_pushcclosure(L, module_pairs, 1);
  lua_setfield(L, -2, "__pairs");
  lua_pushstring(L, kProtectedMetatable);
  lua_setfield(L, -2, "__metatable");
  lua_setmetatable(L, -2);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &kProtectedKey);
  lua_pushvalue(L, -2);
  lua_pushboolean(L, 1);
  lua_rawset(L, -3);
  lua_pop(L, 1);
  lua_pushvalue(L, -1);
  lua_setfield(L, qplug_modules, name);
  lua_setfield(L, loaded, name);
  lua_pop(L, 1);  // real
}

// Gives the metatable on top a __metatable field (unless it has one), so
// getmetatable() cannot hand it out.  [-1, +0, m]
void hide_metatable(lua_State* L) {
  if (lua_type(L, -1) == LUA_TTABLE) {
    lua_pushliteral(L, "__metatable");
    if (lua_rawget(L, -2) == LUA_TNIL) {
      lua_pushstring(L, kProtectedMetatable);
      lua_setfield(L, -3, "__metatable");
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

// Pushes sandbox_module_file(source dir, name) or nil.  [-0, +1, m]
void push_module_file(lua_State* L, const char* name) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &kSourceDirKey);
  {
    std::string file = sandbox_module_file(lua_tostring(L, -1), name);
    lua_pop(L, 1);
    if (file.empty()) {
      lua_pushnil(L);
    } else {
      lua_pushlstring(L, file.data(), file.size());
    }
  }
}

// require(name): the qplug modules (always the bound, read-only ones), what
// package.loaded / package.preload hold, a name the entry's `modules:` grant
// (through the standard searchers), else a Lua text file under the entry's
// source directory.  [-1, +(1|2), e]
int sb_require(lua_State* L) {
  const char* name = luaL_checkstring(L, 1);
  lua_settop(L, 1);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &kQplugModulesKey);  // 2
  if (lua_getfield(L, 2, name) != LUA_TNIL) return 1;
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);  // 4
  if (lua_getfield(L, 4, name) != LUA_TNIL && lua_toboolean(L, -1)) return 1;
  lua_settop(L, 4);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &kGrantsKey);
  if (lua_getfield(L, -1, name) != LUA_TNIL) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &kStockRequireKey);
    lua_pushvalue(L, 1);
    lua_call(L, 1, 2);
    return 2;
  }
  lua_settop(L, 4);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  if (lua_getfield(L, -1, name) == LUA_TFUNCTION) {
    lua_pushvalue(L, 1);
    lua_pushliteral(L, ":preload:");
  } else {
    lua_settop(L, 4);
    push_module_file(L, name);  // 5
    if (lua_isnil(L, 5)) {
      lua_rawgetp(L, LUA_REGISTRYINDEX, &kSourceDirKey);
      return luaL_error(L,
                        "module '%s' not found in the qplug sandbox: not a qplug module (queue, errors), not in the "
                        "entry's modules:, and no %s.lua under '%s' (docs/security.md)",
                        name, name, lua_tostring(L, -1));
    }
    if (luaL_loadfilex(L, lua_tostring(L, 5), "t") != LUA_OK) return lua_error(L);
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 5);
  }
  lua_call(L, 2, 1);
  if (!lua_isnil(L, -1)) lua_setfield(L, 4, name);
  if (lua_getfield(L, 4, name) == LUA_TNIL) {
    lua_pushboolean(L, 1);
    lua_pushvalue(L, -1);
    lua_setfield(L, 4, name);
  }
  return 1;
}

// Sets field `name` of the table at `index` to a closure of f over the old value.  [-0, +0, m]
void wrap_field(lua_State* L, int index, const char* name, lua_CFunction f) {
  lua_getfield(L, index, name);
  lua_pushcclosure(L, f, 1);
  lua_setfield(L, index, name);
}

// Sets global and package.loaded[name] to the value on top (nil removes).  [-1, +0, m]
void set_library(lua_State* L, int globals, int loaded, const char* name) {
  lua_pushvalue(L, -1);
  lua_setfield(L, globals, name);
  lua_setfield(L, loaded, name);
}

// os without process, file or environment access: clock, date, difftime,
// time, and the host-safe exit (raises, never ends the host).  [-0, +1, m]
void push_safe_os(lua_State* L, int globals) {
  lua_getfield(L, globals, "os");
  lua_createtable(L, 0, 5);
  for (const char* f : {"clock", "date", "difftime", "time", "exit"}) {
    lua_getfield(L, -2, f);
    lua_setfield(L, -2, f);
  }
  lua_remove(L, -2);
}

// The `package` a sandboxed script sees: loaded, preload and the
// informational path; no loadlib, cpath, searchers or searchpath.  [-0, +1, m]
void push_sandbox_package(lua_State* L, int loaded, const std::string& dir) {
  lua_createtable(L, 0, 4);
  lua_pushvalue(L, loaded);
  lua_setfield(L, -2, "loaded");
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_setfield(L, -2, "preload");
  std::string path = dir + "?.lua;" + dir + "?/init.lua";
  lua_pushlstring(L, path.data(), path.size());
  lua_setfield(L, -2, "path");
  lua_pushliteral(L, LUA_DIRSEP "\n;\n?\n!\n-\n");
  lua_setfield(L, -2, "config");
}

void install_require(lua_State* L, int globals, int loaded, const Sandbox& sandbox, const std::string& dir) {
  lua_getfield(L, globals, "require");
  lua_rawsetp(L, LUA_REGISTRYINDEX, &kStockRequireKey);
  lua_newtable(L);
  for (const std::string& g : sandbox.grants) {
    if (is_library_grant(g)) continue;
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, g.c_str());
  }
  lua_rawsetp(L, LUA_REGISTRYINDEX, &kGrantsKey);
  lua_pushlstring(L, dir.data(), dir.size());
  lua_rawsetp(L, LUA_REGISTRYINDEX, &kSourceDirKey);
  push_sandbox_package(L, loaded, dir);
  set_library(L, globals, loaded, "package");
  lua_pushcfunction(L, sb_require);
  lua_setfield(L, globals, "require");
}

bool valid_module_name(const std::string& name) {
  if (name.empty() || name.front() == '.' || name.back() == '.' || name.find("..") != std::string::npos) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.';
  });
}

}  // namespace

std::string sandbox_module_file(const std::string& dir, const std::string& name) {
  if (!valid_module_name(name)) return {};
  std::string rel = name;
  std::replace(rel.begin(), rel.end(), '.', '/');
  for (const std::string& candidate : {dir + rel + ".lua", dir + rel + "/init.lua"}) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(candidate, ec)) return candidate;
  }
  return {};
}

void apply_sandbox(lua_State* L, const Sandbox& sandbox, const std::string& source_dir) {
  int top = lua_gettop(L);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  int loaded = lua_gettop(L);
  lua_pushglobaltable(L);
  int globals = lua_gettop(L);

  // Read-only qplug modules, remembered for require.
  lua_createtable(L, 0, 1);  // weak-keyed set of protected tables
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "k");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &kProtectedKey);
  lua_newtable(L);
  int qplug_modules = lua_gettop(L);
  protect_module(L, loaded, qplug_modules, "queue");
  protect_module(L, loaded, qplug_modules, "errors");
  lua_rawsetp(L, LUA_REGISTRYINDEX, &kQplugModulesKey);

  // Metatables a script can reach with getmetatable().
  luaL_getmetatable(L, "qplug.message");
  hide_metatable(L);
  luaL_getmetatable(L, kErrorType);
  hide_metatable(L);
  lua_pushliteral(L, "");
  if (lua_getmetatable(L, -1)) hide_metatable(L);
  lua_pop(L, 1);

  // Base library: text-only load, no file loading, guarded GC and metatables.
  wrap_field(L, globals, "load", sb_load);
  wrap_field(L, globals, "collectgarbage", sb_collectgarbage);
  wrap_field(L, globals, "setmetatable", sb_setmetatable);
  wrap_field(L, globals, "rawset", sb_rawset);
  for (const char* f : {"dofile", "loadfile"}) {
    lua_pushnil(L);
    lua_setfield(L, globals, f);
  }
  lua_getfield(L, globals, "string");
  lua_pushnil(L);
  lua_setfield(L, -2, "dump");  // its only use is producing bytecode for load
  lua_pop(L, 1);

  // Libraries that reach the host, unless granted.
  for (const char* lib : {"io", "debug"}) {
    if (has_grant(sandbox, lib)) continue;
    lua_pushnil(L);
    set_library(L, globals, loaded, lib);
  }
  if (!has_grant(sandbox, "os")) {
    push_safe_os(L, globals);
    set_library(L, globals, loaded, "os");
  }
  if (has_grant(sandbox, "package")) {
    // The stock module system, with the source directory first (as outside the sandbox).
    lua_getfield(L, globals, "package");
    lua_getfield(L, -1, "path");
    lua_pushfstring(L, "%s?.lua;%s?/init.lua;%s", source_dir.c_str(), source_dir.c_str(), lua_tostring(L, -1));
    lua_setfield(L, -3, "path");
    lua_pop(L, 2);
  } else {
    install_require(L, globals, loaded, sandbox, source_dir);
  }
  lua_settop(L, top);
}

}  // namespace qplug::lua::detail
