// lua_errors.cpp -- the `errors` module: kind constants and error values.
//
// An error value is a full userdata holding a qplug::Status, with methods
// kind() ("INVALID", equal to errors.INVALID), message(), retryable() and
// __tostring "INVALID: queue ID is empty". Its __gc runs the destructor.
#include "lua_errors.hpp"

#include <new>
#include <qplug/lua.hpp>
#include <string_view>

namespace qplug::lua {
namespace detail {
namespace {

constexpr ErrorKind kKinds[] = {ErrorKind::INVALID,     ErrorKind::NOT_FOUND, ErrorKind::PERMISSION_DENIED,
                                ErrorKind::UNAVAILABLE, ErrorKind::TIMEOUT,   ErrorKind::FULL,
                                ErrorKind::CANCELED,    ErrorKind::INTERNAL};

Status* check_error(lua_State* L, int index) { return static_cast<Status*>(luaL_checkudata(L, index, kErrorType)); }

void push_view(lua_State* L, std::string_view s) { lua_pushlstring(L, s.data(), s.size()); }

// err:kind() -> string  [-0, +1, v]
int error_kind(lua_State* L) {
  push_view(L, kind_name(check_error(L, 1)->kind()));
  return 1;
}

// err:message() -> string  [-0, +1, v]
int error_message(lua_State* L) {
  push_view(L, check_error(L, 1)->message());
  return 1;
}

// err:retryable() -> boolean  [-0, +1, v]
int error_retryable(lua_State* L) {
  lua_pushboolean(L, check_error(L, 1)->retryable());
  return 1;
}

// tostring(err) -> "KIND: message"  [-0, +1, v]
int error_tostring(lua_State* L) {
  const Status* st = check_error(L, 1);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  std::string_view kind = kind_name(st->kind());
  luaL_addlstring(&b, kind.data(), kind.size());
  luaL_addstring(&b, ": ");
  luaL_addlstring(&b, st->message().data(), st->message().size());
  luaL_pushresult(&b);
  return 1;
}

// __gc: runs the Status destructor once (a resurrected value reads as INTERNAL).  [-0, +0, -]
int error_gc(lua_State* L) {
  Status* st = check_error(L, 1);
  st->~Status();
  new (st) Status();
  return 0;
}

// err1 == err2 when kind, message and retryable match.  [-0, +1, -]
int error_eq(lua_State* L) {
  const Status* a = to_error(L, 1);
  const Status* b = to_error(L, 2);
  lua_pushboolean(L,
                  a && b && a->kind() == b->kind() && a->message() == b->message() && a->retryable() == b->retryable());
  return 1;
}

ErrorKind kind_from_name(std::string_view name, bool* found) {
  for (ErrorKind k : kKinds) {
    if (kind_name(k) == name) {
      *found = true;
      return k;
    }
  }
  *found = false;
  return ErrorKind::INTERNAL;
}

// errors.new(kind, message [, retryable]) -> error  [-0, +1, v]
// For handlers that want to return a typed error: `return nil, errors.new(errors.TIMEOUT, "smtp slow", true)`.
int errors_new(lua_State* L) {
  const char* name = luaL_checkstring(L, 1);
  size_t len = 0;
  const char* msg = luaL_optlstring(L, 2, "", &len);
  bool found = false;
  ErrorKind kind = kind_from_name(name, &found);
  if (!found) return luaL_argerror(L, 1, "unknown error kind (want errors.INVALID, errors.NOT_FOUND, ...)");
  bool retryable = lua_isnoneornil(L, 3) ? Status(kind, "").retryable() : lua_toboolean(L, 3) != 0;
  push_error(L, Status(kind, std::string(msg, len), retryable));
  return 1;
}

// errors.is(value [, kind]) -> boolean: an error value (of that kind).  [-0, +1, -]
int errors_is(lua_State* L) {
  const Status* st = to_error(L, 1);
  if (st == nullptr || lua_isnoneornil(L, 2)) {
    lua_pushboolean(L, st != nullptr);
    return 1;
  }
  size_t len = 0;
  const char* name = lua_tolstring(L, 2, &len);
  lua_pushboolean(L, name != nullptr && kind_name(st->kind()) == std::string_view(name, len));
  return 1;
}

// Creates the error metatable once.  [-0, +1, m]
void push_error_metatable(lua_State* L) {
  if (luaL_newmetatable(L, kErrorType) == 0) return;
  static const luaL_Reg kMethods[] = {
      {"kind", error_kind}, {"message", error_message}, {"retryable", error_retryable}, {nullptr, nullptr}};
  static const luaL_Reg kMeta[] = {
      {"__tostring", error_tostring}, {"__gc", error_gc}, {"__eq", error_eq}, {nullptr, nullptr}};
  luaL_setfuncs(L, kMeta, 0);
  luaL_newlib(L, kMethods);
  lua_setfield(L, -2, "__index");
  lua_pushliteral(L, "qplug.error");
  lua_setfield(L, -2, "__name");
}

}  // namespace

const Status* to_error(lua_State* L, int index) {
  return static_cast<const Status*>(luaL_testudata(L, index, kErrorType));
}

Status status_from_lua(lua_State* L, int index) {
  if (const Status* st = to_error(L, index)) return *st;
  size_t len = 0;
  const char* text = nullptr;
  switch (lua_type(L, index)) {
    case LUA_TSTRING:
      text = lua_tolstring(L, index, &len);
      return internal_error(std::string(text, len));
    case LUA_TNUMBER: {
      lua_pushvalue(L, index);  // tolstring converts in place: work on a copy
      text = lua_tolstring(L, -1, &len);
      Status st = internal_error(std::string(text, len));
      lua_pop(L, 1);
      return st;
    }
    case LUA_TNIL:
    case LUA_TNONE:
      return internal_error("handler failed (no error value)");
    case LUA_TBOOLEAN:
      return internal_error(lua_toboolean(L, index) ? "true" : "handler returned false");
    default:
      return internal_error(std::string("handler failed with a ") + luaL_typename(L, index) + " error value");
  }
}

int push_fail(lua_State* L, const Status& status) {
  lua_pushnil(L);
  push_error(L, status);
  return 2;
}

}  // namespace detail

void push_error(lua_State* L, const Status& status) {
  void* mem = lua_newuserdatauv(L, sizeof(Status), 0);
  new (mem) Status(status);  // constructed before the metatable gives it a __gc
  detail::push_error_metatable(L);
  lua_setmetatable(L, -2);
}

// [-0, +1, m]
int luaopen_errors(lua_State* L) {
  lua_createtable(L, 0, 12);
  for (ErrorKind k : detail::kKinds) {
    std::string_view name = kind_name(k);
    lua_pushlstring(L, name.data(), name.size());  // errors.INVALID == "INVALID"
    lua_pushvalue(L, -1);
    lua_rawset(L, -3);
  }
  lua_pushcfunction(L, detail::errors_new);
  lua_setfield(L, -2, "new");
  lua_pushcfunction(L, detail::errors_is);
  lua_setfield(L, -2, "is");
  detail::push_error_metatable(L);
  lua_pop(L, 1);
  return 1;
}

}  // namespace qplug::lua
