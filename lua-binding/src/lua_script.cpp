// lua_script.cpp -- running a whole script: `qplug lua` and process.lua entries.
#include <qplug/lua.hpp>

#include "lua_budget.hpp"
#include "lua_errors.hpp"
#include "lua_state.hpp"

namespace qplug::lua {
namespace {

// Sets the global `arg` as lua.c does: arg[0] = script, arg[1..n] = args.  [-0, +0, m]
void set_arg_table(lua_State* L, const ScriptOptions& o) {
  lua_createtable(L, static_cast<int>(o.args.size()), 1);
  lua_pushlstring(L, o.source.data(), o.source.size());
  lua_rawseti(L, -2, 0);
  lua_Integer i = 0;
  for (const std::string& a : o.args) {
    lua_pushlstring(L, a.data(), a.size());
    lua_rawseti(L, -2, ++i);
  }
  lua_setglobal(L, "arg");
}

// Protected: arg table, then the args pushed for the call.  [-1, +0, m]
int prepare_script(lua_State* L) {
  set_arg_table(L, *static_cast<const ScriptOptions*>(lua_touserdata(L, 1)));
  return 0;
}

void push_args(lua_State* L, const ScriptOptions& o) {
  luaL_checkstack(L, static_cast<int>(o.args.size()) + 1, "too many script arguments");
  for (const std::string& a : o.args) lua_pushlstring(L, a.data(), a.size());
}

// Maps what a script or method returned (from `base` to the top) to a status
// and an exit code: an integer is the exit code; false or `nil, err` fail.
Status script_results(lua_State* L, int base, int* exit_code) {
  int n = lua_gettop(L) - base;
  *exit_code = 0;
  if (n == 0) return ok_status();
  int first = base + 1;
  if (lua_isinteger(L, first)) {
    *exit_code = static_cast<int>(lua_tointeger(L, first));
    return ok_status();
  }
  if (lua_isboolean(L, first) && !lua_toboolean(L, first)) {
    *exit_code = 1;
    return n >= 2 && !lua_isnil(L, first + 1) ? detail::status_from_lua(L, first + 1)
                                              : internal_error("script returned false");
  }
  if (lua_isnil(L, first) && n >= 2 && !lua_isnil(L, first + 1)) {
    *exit_code = 1;
    return detail::status_from_lua(L, first + 1);
  }
  return ok_status();
}

// One protected call of the function under `nargs` arguments, with the stop hook.
Status call(lua_State* L, int nargs, const ScriptOptions& o, int* exit_code) {
  int base = lua_gettop(L) - nargs - 1;
  int rc = LUA_OK;
  {
    Budget unlimited;
    unlimited.max_instructions = 0;
    unlimited.max_time = std::chrono::milliseconds(0);
    detail::BudgetGuard guard(L, unlimited, o.stop);
    rc = lua_pcall(L, nargs, LUA_MULTRET, 0);
  }
  if (rc != LUA_OK) {
    // os.exit(n) is the script choosing its status, as `return n` is.
    if (detail::exit_request(L, -1, exit_code)) return ok_status();
    *exit_code = 1;
    return detail::status_from_lua(L, -1);
  }
  return script_results(L, base, exit_code);
}

}  // namespace

Status compile_script(const std::string& source) {
  detail::StatePtr L(luaL_newstate());
  if (!L) return internal_error("cannot create a Lua state (out of memory)");
  return detail::load_source(L.get(), source);
}

Status run_script(Runtime& runtime, const SecurityContext* security, const ScriptOptions& options, int* exit_code) {
  int code_storage = 0;
  int* code = exit_code != nullptr ? exit_code : &code_storage;
  *code = 1;
  Result<detail::StatePtr> state = detail::new_bound_state(runtime, security, options.source, options.sandbox);
  if (!state.ok()) return state.status();
  lua_State* L = state->get();
  lua_pushcfunction(L, prepare_script);
  lua_pushlightuserdata(L, const_cast<ScriptOptions*>(&options));
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) return detail::status_from_lua(L, -1);
  Status st = detail::load_source(L, options.source);
  if (!st.ok()) return st;
  push_args(L, options);
  st = call(L, static_cast<int>(options.args.size()), options, code);
  if (!st.ok() || options.method.empty() || *code != 0) return st;

  // process.lua form: the chunk defined (or returned a table with) the method.
  int module = lua_gettop(L) >= 1 ? 1 : 0;
  if (module == 0) lua_pushnil(L), module = 1;
  st = detail::push_method(L, module, options.source, options.method);
  if (!st.ok()) {
    *code = 1;
    return st;
  }
  push_args(L, options);
  return call(L, static_cast<int>(options.args.size()), options, code);
}

}  // namespace qplug::lua
