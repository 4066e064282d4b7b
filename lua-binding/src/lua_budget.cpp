// lua_budget.cpp -- count-hook budgets and a host-safe os.exit.
#include "lua_budget.hpp"

#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <qplug/sdk/parse.hpp>
#include <set>
#include <string>

#include "lua_errors.hpp"

namespace qplug::lua::detail {

namespace {

// Instructions between two hook calls: cheap enough to be invisible in the
// handler benchmark, fine-grained enough to stop a loop within microseconds.
constexpr int kHookPeriod = 1000;

// The budget of the call running on this thread (a Lua call never migrates).
thread_local BudgetGuard::State* tls_budget = nullptr;

// Raises a Lua error value of `kind` with the position of the running Lua code.
[[noreturn]] void budget_raise(lua_State* L, ErrorKind kind, const char* what) {
  luaL_where(L, 1);
  {
    std::string text = std::string(lua_tostring(L, -1)) + what;
    lua_pop(L, 1);
    push_error(L, Status(kind, text, false));
  }  // text destroyed before the longjmp
  lua_error(L);
  std::abort();  // unreachable: lua_error does not return
}

void budget_hook(lua_State* L, lua_Debug*) {
  BudgetGuard::State* s = tls_budget;
  if (s == nullptr) return;
  s->used += s->tripped ? 1 : kHookPeriod;
  ErrorKind kind = ErrorKind::OK;
  const char* what = nullptr;
  if (s->stop != nullptr && s->stop->load(std::memory_order_relaxed)) {
    kind = ErrorKind::CANCELED;
    what = "interrupted: the host is shutting down";
  } else if (s->max_instructions != 0 && s->used > s->max_instructions) {
    kind = ErrorKind::TIMEOUT;
    what = "instruction budget exceeded (the consumer's limits.max_instructions, else QPLUG_LUA_MAX_INSTRUCTIONS)";
  } else if (s->has_deadline && std::chrono::steady_clock::now() > s->deadline) {
    kind = ErrorKind::TIMEOUT;
    what = "time budget exceeded (the consumer's limits.timeout, else QPLUG_LUA_TIMEOUT_MS)";
  }
  if (what == nullptr) return;
  if (!s->tripped) {
    s->tripped = true;
    lua_sethook(L, budget_hook, LUA_MASKCOUNT, 1);
  }
  budget_raise(L, kind, what);
}

const char kExitKey = 0;       // registry key of the pending os.exit code
const char kExitSentinel = 0;  // its address, as a light userdata, is the raised value

// os.exit([code]) inside a qplug state: raise, never exit(3) the host.  [-(0|1), +0, v]
int safe_exit(lua_State* L) {
  lua_Integer code = 0;
  if (lua_isboolean(L, 1)) {
    code = lua_toboolean(L, 1) ? 0 : 1;
  } else {
    code = luaL_optinteger(L, 1, 0);
  }
  lua_pushinteger(L, code);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &kExitKey);
  lua_pushlightuserdata(L, const_cast<char*>(&kExitSentinel));
  return lua_error(L);
}

}  // namespace

BudgetGuard::BudgetGuard(lua_State* L, const Budget& budget, const std::atomic<bool>* stop)
    : L_(L), previous_(tls_budget) {
  state_.max_instructions = budget.max_instructions;
  state_.has_deadline = budget.max_time.count() > 0;
  if (state_.has_deadline) state_.deadline = std::chrono::steady_clock::now() + budget.max_time;
  state_.stop = stop;
  tls_budget = &state_;
  if (state_.max_instructions != 0 || state_.has_deadline || stop != nullptr) {
    lua_sethook(L_, budget_hook, LUA_MASKCOUNT, kHookPeriod);
  }
}

BudgetGuard::~BudgetGuard() {
  lua_sethook(L_, nullptr, 0, 0);
  tls_budget = previous_;
}

}  // namespace qplug::lua::detail

namespace qplug::lua {

namespace {

// A value that does not parse is reported (once per variable and value) and
// the documented default applies, so a typo never silently lifts or changes a
// limit. QPLUG_LUA_TIMEOUT_MS takes milliseconds or a duration ("2s").
void warn_bad_env(const char* name, const char* value, const std::string& fallback) {
  static std::mutex mu;
  static std::set<std::string> reported;
  std::lock_guard lock(mu);
  if (!reported.insert(std::string(name) + '=' + value).second) return;
  const std::string line = "qplug[warn] environment: " + std::string(name) + "='" + value + "' is not " +
                           (std::string(name) == "QPLUG_LUA_TIMEOUT_MS" ? "a duration (milliseconds, or 250ms, 2s)"
                                                                        : "a non-negative integer") +
                           "; using the default " + fallback + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace

Budget Budget::from_env() {
  Budget b;
  if (const char* v = std::getenv("QPLUG_LUA_MAX_INSTRUCTIONS"); v != nullptr && *v != '\0') {
    uint64_t n = 0;
    const char* end = v + std::strlen(v);
    auto [p, ec] = std::from_chars(v, end, n);
    if (ec == std::errc() && p == end) {
      b.max_instructions = n;
    } else {
      warn_bad_env("QPLUG_LUA_MAX_INSTRUCTIONS", v, std::to_string(b.max_instructions));
    }
  }
  if (const char* v = std::getenv("QPLUG_LUA_TIMEOUT_MS"); v != nullptr && *v != '\0') {
    if (std::optional<int64_t> ms = sdk::parse_duration_ms(v)) {
      b.max_time = std::chrono::milliseconds(*ms);
    } else {
      warn_bad_env("QPLUG_LUA_TIMEOUT_MS", v, std::to_string(b.max_time.count()) + "ms");
    }
  }
  return b;
}

}  // namespace qplug::lua

namespace qplug::lua::detail {

void install_safe_exit(lua_State* L) {
  if (lua_getglobal(L, "os") == LUA_TTABLE) {
    lua_pushcfunction(L, safe_exit);
    lua_setfield(L, -2, "exit");
  }
  lua_pop(L, 1);
}

bool exit_request(lua_State* L, int index, int* code) {
  if (lua_touserdata(L, index) != &kExitSentinel || lua_type(L, index) != LUA_TLIGHTUSERDATA) return false;
  lua_rawgetp(L, LUA_REGISTRYINDEX, &kExitKey);
  *code = static_cast<int>(lua_tointeger(L, -1));
  lua_pop(L, 1);
  return true;
}

}  // namespace qplug::lua::detail
