// qplug/lua.hpp -- the Lua 5.4 binding: embed the `queue` and `errors`
// modules into a host's own lua_State and Runtime, and run Lua handlers.
//
//   lua_State* L = luaL_newstate();
//   luaL_openlibs(L);
//   qplug::lua::open_modules(L, *runtime);          // require("queue") now works
//   luaL_dostring(L, "return require('queue').publish('app:tasks', {n = 1})");
//
// Stack effects follow the Lua manual's notation [-o, +p, x]. Functions that
// touch a lua_State may raise Lua errors (memory errors) as the Lua API does;
// none of them raises for a queue error: those come back as Status values.
// Thread safety: a lua_State is single-threaded; use one per thread (the
// Runtime itself is thread-safe).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <qplug/config.hpp>
#include <qplug/runtime.hpp>
#include <qplug/status.hpp>
#include <qplug/value.hpp>
#include <string>
#include <vector>

struct lua_State;

namespace qplug::lua {

// Registers `queue` and `errors` in L's package.loaded (so require() returns
// them) bound to `runtime`, acting as `security` (copied; its actor pointer
// must outlive L; nullptr = the host itself). The runtime must outlive L.
// Calling it again rebinds the state. [-0, +0, m]
void open_modules(lua_State* L, Runtime& runtime, const SecurityContext* security = nullptr);

// The `errors` module alone (constants, errors.new). Usable with
// luaL_requiref(L, "errors", luaopen_errors, 0). [-0, +1, m]
int luaopen_errors(lua_State* L);

// While a DeliveryScope lives, queue.message() in L returns a Message for
// `delivery`. When it ends, every Message object handed out for it answers
// `nil, INVALID "released"` and never touches the delivery again.
// L must have been set up with open_modules().
class DeliveryScope {
 public:
  DeliveryScope(lua_State* L, Delivery& delivery);
  ~DeliveryScope();
  DeliveryScope(const DeliveryScope&) = delete;
  DeliveryScope& operator=(const DeliveryScope&) = delete;

 private:
  lua_State* L_;
};

// Value mapping (docs/lua-api.md "Value mapping"):
//  - nil/boolean/integer/float/string <-> null/bool/int64/double/string
//    (integer vs float kept via lua_isinteger; strings are binary-safe);
//  - a table whose keys are exactly 1..n (n >= 1) <-> array;
//  - a table whose keys are all strings <-> map; an empty table -> empty array;
//  - anything else is INVALID naming the path ("data.items[3]"): functions,
//    userdata, threads, NaN/inf, non-string keys outside a sequence, cycles,
//    nesting deeper than kMaxValueDepth.
// Reads the value at `index` (no metamethods are called). [-0, +0, m]
Status to_value(lua_State* L, int index, Value* out);
// Pushes `v`; null inside arrays/maps becomes nil (holes / absent keys). [-0, +1, m]
void push_value(lua_State* L, const Value& v);
// Headers: a table of string keys to string/integer/float/boolean values.
// INVALID names the offending key. [-0, +0, m]
Status to_headers(lua_State* L, int index, Headers* out);
// [-0, +1, m]
void push_headers(lua_State* L, const Headers& headers);
// Pushes an error value of the `errors` module (kind(), message(), retryable()). [-0, +1, m]
void push_error(lua_State* L, const Status& status);

// The environment a Worker or run_script() state runs in (docs/security.md
// "Lua sandbox"). Enabled: a safe subset of the standard library (no io, no
// debug, os without execute/getenv/remove/..., no package.loadlib or C
// modules, text-only load, no __gc, collectgarbage without stop/tuning),
// read-only queue/errors modules, and `require` limited to the qplug
// modules, `grants` and Lua files under the source's directory. `grants` is
// the entry's `modules:`: `io`, `os`, `debug`, `package` lift those
// libraries; any other name may be required through the standard searchers
// (package.path / package.cpath). Disabled: every standard library, as
// luaL_openlibs gives it (os.exit made host-safe): the trusted host's choice.
struct Sandbox {
  bool enabled = true;
  std::vector<std::string> grants;
  static Sandbox off() { return Sandbox{false, {}}; }
  // An entry's sandbox: its `modules:`, or off when the config says
  // `security: {sandbox: false}` (a trusted deployment).
  static Sandbox for_entry(const Config& config, const HandlerSpec& handler) {
    return Sandbox{config.lua_sandbox, handler.modules};
  }
};

// Limits on one handler call. Exceeding either raises a Lua error inside the
// handler (so the delivery is nacked) instead of hanging the worker. C
// functions that block are not interrupted.
struct Budget {
  uint64_t max_instructions = 1'000'000'000;  // VM instructions per call; 0 = unlimited
  std::chrono::milliseconds max_time{30000};  // wall clock per call; 0 = unlimited
  // from_env(): these defaults, overridden by QPLUG_LUA_MAX_INSTRUCTIONS and
  // QPLUG_LUA_TIMEOUT_MS; a consumer's `limits:` then override those.
  static Budget from_env();
};

// A Lua consumer handler on one worker: its own lua_State with the libraries
// `sandbox` allows and queue/errors bound to `runtime` as `security`; the source is
// loaded once. handle() calls the method with the decoded payload and maps the
// return to a Status: true/nothing/non-false -> OK (ack); false, `nil, err` or
// a raised error -> error (nack, reason = the error's text).
class Worker {
 public:
  // `source` + `method`: the method is looked up in the table the chunk
  // returns (if it returns one), else among the globals.
  static Result<std::unique_ptr<Worker>> create(Runtime& runtime, const SecurityContext& security,
                                                const std::string& source, const std::string& method,
                                                Budget budget = Budget::from_env(), const Sandbox& sandbox = Sandbox{});
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  Status handle(Delivery& delivery);
  lua_State* state() const { return L_; }

 private:
  Worker() = default;
  lua_State* L_ = nullptr;
  int function_ref_ = -1;
  Budget budget_;
  SecurityContext security_;
};

// The HandlerFactory for a queue.consumer entry: `source:`+`method:` or `func:`
// (a function.lua entry of runtime.config()). Each worker gets its own Worker,
// sandboxed as Sandbox::for_entry() says.
// `budget` is the host's default; the entry's `limits:` override it per field.
Result<HandlerFactory> consumer_handler_factory(Runtime& runtime, const ConsumerEntry& consumer,
                                                Budget budget = Budget::from_env());

// Runs a script to completion in a fresh lua_State bound to `runtime` as
// `security`, in `options.sandbox` (sandboxed unless the host says off):
// loads `source` with `arg` set to `args` (arg[0] = source) and, if `method`
// is not empty, then calls that function with `args`. `stop`, if given, is
// polled from a count hook: once true, the script is interrupted with
// CANCELED. Returns OK, or the error raised / returned (`nil, err` or false)
// by the script. *exit_code (if given) receives the integer the script or
// method returned or passed to os.exit() (both OK: the script chose its
// status), 0 on success without one, 1 on error.
struct ScriptOptions {
  std::string source;
  std::string method;
  std::vector<std::string> args;
  const std::atomic<bool>* stop = nullptr;
  Sandbox sandbox;
};
Status run_script(Runtime& runtime, const SecurityContext* security, const ScriptOptions& options,
                  int* exit_code = nullptr);

// Compiles the Lua file `source` (text only) without running it: OK, or
// INVALID "cannot open <source>" / "<source>:<line>: <syntax error>".
// `qplug check` loads process.lua scripts with it. [no lua_State involved]
Status compile_script(const std::string& source);

// SecurityContext of a consumer/process entry's `security:` block.
SecurityContext security_context(const SecuritySpec& spec);

}  // namespace qplug::lua
