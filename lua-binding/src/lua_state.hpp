// lua_state.hpp -- building the lua_State a handler or script runs in.
#pragma once

#include <lua.hpp>
#include <memory>
#include <qplug/lua.hpp>
#include <string>

namespace qplug::lua::detail {

struct StateCloser {
  void operator()(lua_State* L) const { lua_close(L); }
};
using StatePtr = std::unique_ptr<lua_State, StateCloser>;

// A fresh state: queue/errors bound to `runtime` as `security`, os.exit made
// host-safe, and either the sandbox (lua_sandbox.hpp; require reaches the
// source's directory) or, with sandbox.enabled false, every standard library
// with the source's directory first on package.path.
Result<StatePtr> new_bound_state(Runtime& runtime, const SecurityContext* security, const std::string& source,
                                 const Sandbox& sandbox);

// Loads `source` (text chunks only) and pushes the chunk. [-0, +1, m]
Status load_source(lua_State* L, const std::string& source);

// Finds `method` in the table at `index` (a module returned by the chunk),
// else among the globals, and pushes it; INVALID if it is not a function. [-0, +1, m]
Status push_method(lua_State* L, int index, const std::string& source, const std::string& method);

}  // namespace qplug::lua::detail
