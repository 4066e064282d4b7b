// lua_handlers.cpp -- plugs the Lua binding into `qplug run`: queue.consumer
// entries with `source:`+`method:` or `func:` get one lua_State per worker,
// process.lua entries run their script on the runner's thread until it
// returns or `qplug run` shuts down.
//
// Budgets per handler call: the consumer's `limits:`, else
// QPLUG_LUA_MAX_INSTRUCTIONS / QPLUG_LUA_TIMEOUT_MS (docs/lua-api.md "Budgets").
#include <qplug/lua.hpp>

#include "handler_registry.hpp"

namespace qplug::cli {
namespace {

Result<HandlerFactory> resolve_lua_handler(Runtime& runtime, const ConsumerEntry& consumer) {
  return lua::consumer_handler_factory(runtime, consumer, lua::Budget::from_env());
}

// The script runs with `stop` polled by its instruction hook: on shutdown it is
// interrupted with CANCELED, which is the expected way for it to end then.
Status run_lua_process(Runtime& runtime, const ProcessEntry& process, const std::atomic<bool>& stop) {
  if (process.handler.source.empty()) {
    return invalid_error(process.where.to_string() + ": process '" + process.id + "': `source:` is required");
  }
  lua::ScriptOptions options;
  options.source = process.handler.source;
  options.method = process.handler.method;
  options.stop = &stop;
  options.sandbox = lua::Sandbox::for_entry(runtime.config(), process.handler);
  const SecurityContext security = lua::security_context(process.security);
  int exit_code = 0;
  Status st = lua::run_script(runtime, &security, options, &exit_code);
  if (st.ok() && exit_code != 0) {
    return internal_error("process '" + process.id + "': script exited with status " + std::to_string(exit_code));
  }
  if (st.ok() || (st.kind() == ErrorKind::CANCELED && stop.load())) return ok_status();
  return Status(st.kind(), "process '" + process.id + "': " + st.message(), st.retryable());
}

// Compiles the script (syntax, readable file) without running it: a
// process's main chunk is the program itself (it publishes, loops).
Status check_lua_process(Runtime&, const ProcessEntry& process) {
  if (process.handler.source.empty()) return invalid_error("`source:` is required");
  return lua::compile_script(process.handler.source);
}

const bool kLuaRegistered = [] {
  set_handler_resolver(&resolve_lua_handler);
  set_process_runner(&run_lua_process);
  set_process_checker(&check_lua_process);
  return true;
}();

}  // namespace
}  // namespace qplug::cli
