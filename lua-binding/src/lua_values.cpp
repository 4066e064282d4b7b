// lua_values.cpp -- Lua values <-> qplug::Value and message headers.
//
// The mapping (documented in docs/lua-api.md, "Value mapping"):
//  - integers stay integers and floats stay floats (lua_isinteger);
//  - strings are byte strings (the codec decides whether bytes are allowed:
//    JSON wants UTF-8, msgpack carries anything);
//  - a table with keys exactly 1..n is an array, one with only string keys a
//    map, an empty table an empty array; anything else is INVALID rather than
//    silently reshaped (no stringified integer keys, no nil padding);
//  - functions, userdata, threads, NaN/inf, cycles and nesting deeper than
//    kMaxValueDepth are INVALID, with the path of the offending value.
// Only raw accesses are used (lua_next/lua_rawgeti), so no metamethod (and no
// Lua error) can run while C++ objects are live on this stack.
#include "lua_values.hpp"

#include <cmath>
#include <qplug/codec.hpp>
#include <qplug/lua.hpp>
#include <string>
#include <string_view>

namespace qplug::lua {
namespace {

class LuaToValue {
 public:
  explicit LuaToValue(lua_State* L) : L_(L) {}

  // On failure returns false; error() then says what and where.
  bool convert(int index, Value* out, int depth) {
    switch (lua_type(L_, index)) {
      case LUA_TNIL:
        *out = Value();
        return true;
      case LUA_TBOOLEAN:
        *out = Value(lua_toboolean(L_, index) != 0);
        return true;
      case LUA_TNUMBER:
        return number(index, out);
      case LUA_TSTRING: {
        size_t len = 0;
        const char* s = lua_tolstring(L_, index, &len);
        *out = Value(std::string(s, len));
        return true;
      }
      case LUA_TTABLE:
        return table(lua_absindex(L_, index), out, depth);
      default:
        return fail(std::string(luaL_typename(L_, index)) + " values cannot be sent in a message");
    }
  }

  Status error(std::string_view root) const { return invalid_error(std::string(root) + where_ + ": " + what_); }

 private:
  bool fail(std::string what) {
    what_ = std::move(what);
    return false;
  }
  // Called while unwinding from a failed child: builds the path outside-in.
  bool prefix(std::string segment) {
    where_.insert(0, segment);
    return false;
  }

  bool number(int index, Value* out) {
    if (lua_isinteger(L_, index)) {
      *out = Value(static_cast<int64_t>(lua_tointeger(L_, index)));
      return true;
    }
    double d = lua_tonumber(L_, index);
    if (!std::isfinite(d)) return fail("NaN and infinity cannot be sent in a message");
    *out = Value(d);
    return true;
  }

  bool table(int index, Value* out, int depth) {
    if (depth >= kMaxValueDepth) return fail("tables nest deeper than " + std::to_string(kMaxValueDepth) + " levels");
    const void* self = lua_topointer(L_, index);
    for (int i = 0; i < depth; ++i) {
      if (ancestors_[i] == self) return fail("table contains a cycle (a table inside itself)");
    }
    ancestors_[depth] = self;
    if (!lua_checkstack(L_, 4)) return fail("Lua stack exhausted");

    lua_Integer n = static_cast<lua_Integer>(lua_rawlen(L_, index));
    lua_Integer integer_keys = 0;
    Map* map = nullptr;
    lua_pushnil(L_);
    while (lua_next(L_, index) != 0) {
      int key_type = lua_type(L_, -2);
      if (key_type == LUA_TSTRING && integer_keys == 0) {
        if (map == nullptr) map = reuse_map(out);
        size_t len = 0;
        const char* key = lua_tolstring(L_, -2, &len);
        map->emplace_back(std::string(key, len), Value());
        if (!convert(-1, &map->back().second, depth + 1)) {
          lua_pop(L_, 2);
          return prefix("." + map->back().first);
        }
      } else if (lua_isinteger(L_, -2) && map == nullptr) {
        lua_Integer k = lua_tointeger(L_, -2);
        if (k < 1 || k > n) {
          lua_pop(L_, 2);
          return fail("integer key " + std::to_string(k) +
                      " outside the sequence 1..n (arrays must be contiguous from 1; maps need string keys)");
        }
        ++integer_keys;
      } else {
        std::string what = key_type == LUA_TSTRING || lua_isinteger(L_, -2)
                               ? "table mixes integer and string keys (send an array or a map of string keys)"
                               : std::string(luaL_typename(L_, -2)) + " keys cannot be sent (maps need string keys)";
        lua_pop(L_, 2);
        return fail(std::move(what));
      }
      lua_pop(L_, 1);
    }
    if (map != nullptr) return true;
    if (integer_keys != n) return fail("array has holes (nil between 1 and " + std::to_string(n) + ")");
    return array(index, n, out, depth);  // n == 0: the empty table is an empty array
  }

  bool array(int index, lua_Integer n, Value* out, int depth) {
    Array* arr = reuse_array(out);
    arr->resize(static_cast<size_t>(n));
    for (lua_Integer i = 1; i <= n; ++i) {
      lua_rawgeti(L_, index, i);
      bool ok = convert(-1, &(*arr)[static_cast<size_t>(i - 1)], depth + 1);
      lua_pop(L_, 1);
      if (!ok) return prefix('[' + std::to_string(i) + ']');
    }
    return true;
  }

  // Keeps the capacity of a Value reused across calls (thread_local in publish).
  static Map* reuse_map(Value* out) {
    if (!out->is_map()) *out = Value(Map{});
    out->as_map().clear();
    return &out->as_map();
  }
  static Array* reuse_array(Value* out) {
    if (!out->is_array()) *out = Value(Array{});
    out->as_array().clear();
    return &out->as_array();
  }

  lua_State* L_;
  const void* ancestors_[kMaxValueDepth + 1] = {};
  std::string where_;
  std::string what_;
};

Status header_value(lua_State* L, std::string_view key, HeaderValue* out) {
  switch (lua_type(L, -1)) {
    case LUA_TSTRING: {
      size_t len = 0;
      const char* s = lua_tolstring(L, -1, &len);
      *out = std::string(s, len);
      return ok_status();
    }
    case LUA_TBOOLEAN:
      *out = lua_toboolean(L, -1) != 0;
      return ok_status();
    case LUA_TNUMBER:
      if (lua_isinteger(L, -1)) {
        *out = static_cast<int64_t>(lua_tointeger(L, -1));
        return ok_status();
      }
      if (!std::isfinite(lua_tonumber(L, -1))) {
        return invalid_error("header '" + std::string(key) + "': NaN and infinity cannot be sent");
      }
      *out = static_cast<double>(lua_tonumber(L, -1));
      return ok_status();
    default:
      return invalid_error("header '" + std::string(key) + "': " + luaL_typename(L, -1) +
                           " values are not allowed (want string, integer, float or boolean)");
  }
}

}  // namespace

Status to_value(lua_State* L, int index, Value* out) {
  LuaToValue conv(L);
  if (conv.convert(index, out, 0)) return ok_status();
  return conv.error("data");
}

namespace {

// Pushes the scalar alternatives Values and header values share.
struct ScalarPusher {
  lua_State* L;
  void operator()(std::monostate) const { lua_pushnil(L); }
  void operator()(bool b) const { lua_pushboolean(L, b); }
  void operator()(int64_t i) const { lua_pushinteger(L, static_cast<lua_Integer>(i)); }
  void operator()(double d) const { lua_pushnumber(L, d); }
  void operator()(const std::string& s) const { lua_pushlstring(L, s.data(), s.size()); }
};

}  // namespace

void push_value(lua_State* L, const Value& v) {
  struct Pusher : ScalarPusher {
    using ScalarPusher::operator();
    void operator()(const Array& a) const {
      luaL_checkstack(L, 3, "message value nests too deep");
      lua_createtable(L, static_cast<int>(a.size()), 0);
      lua_Integer i = 0;
      for (const Value& e : a) {
        push_value(L, e);
        lua_rawseti(L, -2, ++i);
      }
    }
    void operator()(const Map& m) const {
      luaL_checkstack(L, 3, "message value nests too deep");
      lua_createtable(L, 0, static_cast<int>(m.size()));
      for (const auto& [k, e] : m) {
        lua_pushlstring(L, k.data(), k.size());
        push_value(L, e);
        lua_rawset(L, -3);
      }
    }
  };
  std::visit(Pusher{{L}}, v.storage());
}

Status to_headers(lua_State* L, int index, Headers* out) {
  index = lua_absindex(L, index);
  out->clear();
  if (!lua_checkstack(L, 2)) return invalid_error("headers: Lua stack exhausted");
  lua_pushnil(L);
  while (lua_next(L, index) != 0) {
    if (lua_type(L, -2) != LUA_TSTRING) {
      Status st = invalid_error(std::string("header keys must be strings (got a ") + luaL_typename(L, -2) + " key)");
      lua_pop(L, 2);
      return st;
    }
    size_t len = 0;
    const char* key = lua_tolstring(L, -2, &len);
    out->emplace_back(std::string(key, len), HeaderValue());
    Status st = header_value(L, out->back().first, &out->back().second);
    lua_pop(L, 1);
    if (!st.ok()) {
      lua_pop(L, 1);
      return st;
    }
  }
  return ok_status();
}

void push_headers(lua_State* L, const Headers& headers) {
  lua_createtable(L, 0, static_cast<int>(headers.size()));
  for (const auto& [k, v] : headers) {
    lua_pushlstring(L, k.data(), k.size());
    detail::push_header_value(L, v);
    lua_rawset(L, -3);
  }
}

namespace detail {

void push_header_value(lua_State* L, const HeaderValue& v) { std::visit(ScalarPusher{L}, v); }

}  // namespace detail
}  // namespace qplug::lua
