// lua_message.cpp -- the Message object queue.message() returns.
//
// The userdata holds no pointer into the delivery's memory by itself: it
// records the Binding and the delivery generation it was made for. A method
// first checks that the Binding still handles that very delivery; once the
// handler returned (DeliveryScope ended, generation moved on) every method
// answers `nil, INVALID "released"` without touching the delivery. The struct
// is trivially destructible, so no __gc is needed.
#include <qplug/lua.hpp>
#include <string>

#include "lua_binding.hpp"
#include "lua_errors.hpp"
#include "lua_values.hpp"

namespace qplug::lua::detail {
namespace {

constexpr const char* kMessageType = "qplug.message";

struct MessageRef {
  Binding* binding;
  Delivery* delivery;
  uint64_t generation;
};

// The live delivery behind msg (argument 1), or null if released. Raises
// for a non-Message self (a programming error).  [-0, +0, v]
Delivery* live_delivery(lua_State* L) {
  auto* ref = static_cast<MessageRef*>(luaL_checkudata(L, 1, kMessageType));
  Binding* b = ref->binding;
  if (b->delivery != ref->delivery || b->generation != ref->generation) return nullptr;
  return ref->delivery;
}

int released(lua_State* L) {
  return push_fail(L, invalid_error("message released: its handler has returned (use it only inside the handler)"));
}

// msg:id() -> string | nil, err  [-0, +(1|2), v]
int message_id(lua_State* L) {
  Delivery* d = live_delivery(L);
  if (d == nullptr) return released(L);
  const std::string& id = d->message().id;
  lua_pushlstring(L, id.data(), id.size());
  return 1;
}

// msg:header(key) -> value (nil if missing) | nil, err  [-1, +(1|2), v]
int message_header(lua_State* L) {
  Delivery* d = live_delivery(L);
  size_t len = 0;
  const char* key = luaL_checklstring(L, 2, &len);
  if (d == nullptr) return released(L);
  const HeaderValue* v = find_header(d->message().headers, std::string_view(key, len));
  if (v == nullptr) {
    lua_pushnil(L);
  } else {
    push_header_value(L, *v);
  }
  return 1;
}

// msg:headers() -> table | nil, err  [-0, +(1|2), v]
int message_headers(lua_State* L) {
  Delivery* d = live_delivery(L);
  if (d == nullptr) return released(L);
  push_headers(L, d->message().headers);
  return 1;
}

// msg:attempts() -> integer (1 on first delivery) | nil, err  [-0, +(1|2), v]
int message_attempts(lua_State* L) {
  Delivery* d = live_delivery(L);
  if (d == nullptr) return released(L);
  lua_pushinteger(L, static_cast<lua_Integer>(d->attempts()));
  return 1;
}

// Settles and pushes true | nil, err. The Status dies before any raise.  [-0, +(1|2), m]
int push_settle_result(lua_State* L, const Status& st) {
  if (!st.ok()) return push_fail(L, st);
  lua_pushboolean(L, 1);
  return 1;
}

// msg:ack() -> true | nil, err (INVALID "already settled" the second time)  [-0, +(1|2), v]
int message_ack(lua_State* L) {
  Delivery* d = live_delivery(L);
  if (d == nullptr) return released(L);
  if (d->settled()) return push_fail(L, invalid_error("message already settled"));
  return push_settle_result(L, d->ack());
}

// msg:nack([reason]) -> true | nil, err  [-(0|1), +(1|2), v]
int message_nack(lua_State* L) {
  Delivery* d = live_delivery(L);
  size_t len = 0;
  const char* reason = luaL_optlstring(L, 2, "nacked by handler", &len);
  if (d == nullptr) return released(L);
  if (d->settled()) return push_fail(L, invalid_error("message already settled"));
  return push_settle_result(L, d->nack(std::string_view(reason, len)));
}

// tostring(msg) -> "queue.Message(<id>)" or "queue.Message(released)"  [-0, +1, v]
int message_tostring(lua_State* L) {
  Delivery* d = live_delivery(L);
  if (d == nullptr) {
    lua_pushliteral(L, "queue.Message(released)");
  } else {
    lua_pushfstring(L, "queue.Message(%s)", d->message().id.c_str());
  }
  return 1;
}

}  // namespace

void register_message_type(lua_State* L) {
  if (luaL_newmetatable(L, kMessageType) != 0) {
    static const luaL_Reg kMethods[] = {{"id", message_id},
                                        {"header", message_header},
                                        {"headers", message_headers},
                                        {"attempts", message_attempts},
                                        {"ack", message_ack},
                                        {"nack", message_nack},
                                        {nullptr, nullptr}};
    luaL_newlib(L, kMethods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, message_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, "queue.Message");
    lua_setfield(L, -2, "__name");
  }
  lua_pop(L, 1);
}

void push_message(lua_State* L, Binding* b) {
  auto* ref = static_cast<MessageRef*>(lua_newuserdatauv(L, sizeof(MessageRef), 0));
  *ref = MessageRef{b, b->delivery, b->generation};
  luaL_setmetatable(L, kMessageType);
}

}  // namespace qplug::lua::detail
