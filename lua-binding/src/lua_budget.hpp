// lua_budget.hpp -- instruction/time budget and cancellation for one Lua call.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <lua.hpp>
#include <qplug/lua.hpp>

namespace qplug::lua::detail {

// While alive, a count hook on L raises a TIMEOUT error once the call has run
// more than budget.max_instructions VM instructions or budget.max_time of wall
// clock, and a CANCELED error once *stop is true. After tripping, the hook
// fires on every instruction, so a handler that pcall()s the error away is
// interrupted again at once and cannot keep running.
class BudgetGuard {
 public:
  BudgetGuard(lua_State* L, const Budget& budget, const std::atomic<bool>* stop = nullptr);
  ~BudgetGuard();
  BudgetGuard(const BudgetGuard&) = delete;
  BudgetGuard& operator=(const BudgetGuard&) = delete;

  struct State {
    uint64_t max_instructions = 0;
    uint64_t used = 0;
    bool has_deadline = false;
    std::chrono::steady_clock::time_point deadline;
    const std::atomic<bool>* stop = nullptr;
    bool tripped = false;
  };

 private:
  lua_State* L_;
  State state_;
  State* previous_;
};

// Replaces os.exit in L by a function that raises instead of killing the
// host process; the requested code is kept for exit_request(). [-0, +0, m]
void install_safe_exit(lua_State* L);
// True if the error value at `index` is such an os.exit request; *code gets
// its exit code. [-0, +0, -]
bool exit_request(lua_State* L, int index, int* code);

}  // namespace qplug::lua::detail
