// lua_sandbox.hpp -- the environment handlers and process scripts run in
// (docs/security.md "Lua sandbox").
//
// Why: the policy evaluator checks what the `queue` module is asked to do,
// so it holds only if the script cannot reach anything that publishes
// without asking it (a second queue module from queue.so, a shell, the
// binding's upvalues) or that keeps running outside the instruction budget
// (finalizers run with debug hooks off).
#pragma once

#include <lua.hpp>
#include <qplug/lua.hpp>
#include <string>

namespace qplug::lua::detail {

// Turns a state that has the standard libraries and the qplug modules
// (open_modules) into the sandbox: a safe subset of the libraries plus the
// grants of `sandbox`; `require` resolves the qplug modules, the grants, and
// Lua files under `source_dir` ("dir/" or "" for the working directory).
// Call with sandbox.enabled only. [-0, +0, m]
void apply_sandbox(lua_State* L, const Sandbox& sandbox, const std::string& source_dir);

// The file a module name maps to under `dir` (`a.b` -> dir/a/b.lua, else
// dir/a/b/init.lua), or "" when the name could leave `dir` (empty parts,
// `/`, `\`, absolute names) or no such file exists. [-0, +0, -]
std::string sandbox_module_file(const std::string& dir, const std::string& name);

}  // namespace qplug::lua::detail
