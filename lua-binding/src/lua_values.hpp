// lua_values.hpp -- helpers shared by the value mapping and its callers.
#pragma once

#include <lua.hpp>
#include <qplug/message.hpp>

namespace qplug::lua::detail {

// Pushes one typed header value (monostate -> nil). [-0, +1, m]
void push_header_value(lua_State* L, const HeaderValue& v);

}  // namespace qplug::lua::detail
