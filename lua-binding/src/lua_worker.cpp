// lua_worker.cpp -- Lua consumers: one lua_State per worker, source loaded
// once, one protected call per delivery.
#include <chrono>
#include <qplug/lua.hpp>
#include <string>

#include "lua_binding.hpp"
#include "lua_budget.hpp"
#include "lua_errors.hpp"
#include "lua_sandbox.hpp"
#include "lua_state.hpp"

namespace qplug::lua {
namespace detail {
namespace {

struct SetupArgs {
  Runtime* runtime;
  const SecurityContext* security;
  const char* package_dir;  // "dir/" or ""
  const Sandbox* sandbox;
};

// Runs inside lua_pcall so a memory error during setup is an error, not a panic.  [-1, +0, m]
int setup_state(lua_State* L) {
  const auto* a = static_cast<const SetupArgs*>(lua_touserdata(L, 1));
  luaL_openlibs(L);
  open_modules(L, *a->runtime, a->security);
  install_safe_exit(L);
  if (a->sandbox->enabled) {
    apply_sandbox(L, *a->sandbox, a->package_dir);
    return 0;
  }
  if (a->package_dir[0] != '\0' && lua_getglobal(L, "package") == LUA_TTABLE) {
    lua_getfield(L, -1, "path");
    lua_pushfstring(L, "%s?.lua;%s?/init.lua;%s", a->package_dir, a->package_dir, lua_tostring(L, -1));
    lua_setfield(L, -3, "path");
    lua_pop(L, 1);
  }
  return 0;
}

std::string directory_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
}

// Calls the handler: [1] = light userdata Value*, [2] = function. Pushing the
// payload happens here, inside the protected call.  [-2, +2, e]
int call_handler(lua_State* L) {
  const auto* payload = static_cast<const Value*>(lua_touserdata(L, 1));
  lua_pushvalue(L, 2);
  push_value(L, *payload);
  lua_call(L, 1, 2);
  return 2;
}

}  // namespace

Result<StatePtr> new_bound_state(Runtime& runtime, const SecurityContext* security, const std::string& source,
                                 const Sandbox& sandbox) {
  StatePtr L(luaL_newstate());
  if (!L) return internal_error("cannot create a Lua state (out of memory)");
  std::string dir = directory_of(source);
  SetupArgs args{&runtime, security, dir.c_str(), &sandbox};
  lua_pushcfunction(L.get(), setup_state);
  lua_pushlightuserdata(L.get(), &args);
  if (lua_pcall(L.get(), 1, 0, 0) != LUA_OK) {
    return internal_error("setting up the Lua state: " + status_from_lua(L.get(), -1).message());
  }
  return L;
}

Status load_source(lua_State* L, const std::string& source) {
  if (luaL_loadfilex(L, source.c_str(), "t") == LUA_OK) return ok_status();
  Status st = invalid_error("loading Lua source: " + status_from_lua(L, -1).message());
  lua_pop(L, 1);
  lua_pushnil(L);  // keep the [-0, +1] contract
  return st;
}

Status push_method(lua_State* L, int index, const std::string& source, const std::string& method) {
  if (lua_type(L, index) == LUA_TTABLE && lua_getfield(L, index, method.c_str()) == LUA_TFUNCTION) return ok_status();
  if (lua_type(L, index) == LUA_TTABLE) lua_pop(L, 1);
  if (lua_getglobal(L, method.c_str()) == LUA_TFUNCTION) return ok_status();
  return invalid_error(source + ": method '" + method + "' is not a function (got " + luaL_typename(L, -1) +
                       "): define `function " + method + "(payload) ... end`");
}

}  // namespace detail

Result<std::unique_ptr<Worker>> Worker::create(Runtime& runtime, const SecurityContext& security,
                                               const std::string& source, const std::string& method, Budget budget,
                                               const Sandbox& sandbox) {
  std::unique_ptr<Worker> w(new Worker());
  w->security_ = security;
  w->budget_ = budget;
  Result<detail::StatePtr> state = detail::new_bound_state(runtime, &w->security_, source, sandbox);
  if (!state.ok()) return state.status();
  lua_State* L = state->get();
  Status st = detail::load_source(L, source);
  if (!st.ok()) return st;
  int rc = LUA_OK;
  {
    detail::BudgetGuard guard(L, budget);
    rc = lua_pcall(L, 0, 1, 0);
  }
  if (rc != LUA_OK)
    return invalid_error(source + ": running the chunk failed: " + detail::status_from_lua(L, -1).message());
  st = detail::push_method(L, -1, source, method);
  if (!st.ok()) return st;
  w->function_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_settop(L, 0);
  w->L_ = state->release();
  return w;
}

Worker::~Worker() {
  if (L_ != nullptr) lua_close(L_);
}

Status Worker::handle(Delivery& delivery) {
  Result<Value> payload = delivery.payload();
  if (!payload.ok()) return payload.status();
  lua_State* L = L_;
  detail::Binding* b = detail::binding(L);
  lua_settop(L, 0);
  lua_pushcfunction(L, detail::call_handler);
  lua_pushlightuserdata(L, &payload.value());
  lua_rawgeti(L, LUA_REGISTRYINDEX, function_ref_);
  int rc = LUA_OK;
  b->delivery = &delivery;
  {
    detail::BudgetGuard guard(L, budget_);
    rc = lua_pcall(L, 2, 2, 0);
  }
  b->delivery = nullptr;
  ++b->generation;  // releases Message objects the handler kept

  Status result;
  int code = 0;
  if (rc != LUA_OK) {
    result = detail::exit_request(L, -1, &code) ? internal_error("handler called os.exit(" + std::to_string(code) + ")")
                                                : detail::status_from_lua(L, -1);
  } else if (lua_isboolean(L, -2) && !lua_toboolean(L, -2)) {
    result = lua_isnil(L, -1) ? internal_error("handler returned false") : detail::status_from_lua(L, -1);
  } else if (lua_isnil(L, -2) && !lua_isnil(L, -1)) {
    result = detail::status_from_lua(L, -1);  // return nil, err
  }
  lua_settop(L, 0);
  // A handler that settled early (msg:ack()/msg:nack()) already decided.
  if (!result.ok() && delivery.settled()) return ok_status();
  return result;
}

Result<HandlerFactory> consumer_handler_factory(Runtime& runtime, const ConsumerEntry& consumer, Budget budget) {
  HandlerSpec spec = consumer.handler;
  if (!spec.func.empty()) {
    const FunctionEntry* f = runtime.config().find_function(spec.func);
    if (f == nullptr) {
      return not_found_error(consumer.where.to_string() + ": consumer '" + consumer.id + "': unknown function '" +
                             spec.func + "'");
    }
    spec = f->handler;
  }
  if (spec.source.empty() || spec.method.empty()) {
    return invalid_error(consumer.where.to_string() + ": consumer '" + consumer.id +
                         "': a Lua handler needs `source:` and `method:` (or `func:` naming a function.lua entry)");
  }
  // The entry's `limits:` win over the host's defaults, field by field.
  if (consumer.limits.max_instructions) budget.max_instructions = *consumer.limits.max_instructions;
  if (consumer.limits.timeout_ms) budget.max_time = std::chrono::milliseconds(*consumer.limits.timeout_ms);
  SecurityContext security = security_context(consumer.security);
  Sandbox sandbox = Sandbox::for_entry(runtime.config(), spec);
  Runtime* rt = &runtime;
  return HandlerFactory([rt, security, spec, budget, sandbox](int) -> Result<Handler> {
    Result<std::unique_ptr<Worker>> w = Worker::create(*rt, security, spec.source, spec.method, budget, sandbox);
    if (!w.ok()) return w.status();
    std::shared_ptr<Worker> worker(std::move(w).value());
    return Handler([worker](Delivery& d) { return worker->handle(d); });
  });
}

}  // namespace qplug::lua
