// lua_errors.hpp -- error values of the `errors` module, seen from C++.
#pragma once

#include <lua.hpp>
#include <qplug/status.hpp>
#include <string>

namespace qplug::lua::detail {

inline constexpr const char* kErrorType = "qplug.error";

// The Status of an error value at `index`, or null if it is not one. [-0, +0, -]
const Status* to_error(lua_State* L, int index);

// A Status describing any Lua value returned or raised as an error: an error
// value keeps its kind/message/retryable; anything else becomes INTERNAL with
// its text (tostring, without metamethods that could raise). [-0, +0, m]
Status status_from_lua(lua_State* L, int index);

// Pushes nil, err and returns 2 (the `return nil, err` of a C function). [-0, +2, m]
int push_fail(lua_State* L, const Status& status);

}  // namespace qplug::lua::detail
