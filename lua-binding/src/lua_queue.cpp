// lua_queue.cpp -- the `queue` module: publish, publish_batch, message, info.
//
// Each Lua-facing function follows the same shape, because lua_error
// longjmps over C++ frames: (1) check argument TYPES with luaL_* (raising is
// fine, nothing C++ is alive yet), (2) do the work in a helper that returns a
// Status and whose locals are destroyed when it returns, (3) push the result
// (`true` or `nil, err`). Queue errors never raise.
#include <qplug/codec.hpp>
#include <qplug/lua.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "lua_binding.hpp"
#include "lua_errors.hpp"

namespace qplug::lua::detail {
namespace {

Binding* upvalue_binding(lua_State* L) { return static_cast<Binding*>(lua_touserdata(L, lua_upvalueindex(1))); }

// Raises unless argument `arg` is a string (numbers are not queue IDs).  [-0, +0, v]
std::string_view check_queue_id(lua_State* L, int arg) {
  if (lua_type(L, arg) != LUA_TSTRING) luaL_typeerror(L, arg, "string (queue ID)");
  size_t len = 0;
  const char* s = lua_tolstring(L, arg, &len);
  return {s, len};
}

// Raises unless argument `arg` is absent, nil or a table.  [-0, +0, v]
void check_optional_table(lua_State* L, int arg, const char* what) {
  if (!lua_isnoneornil(L, arg) && lua_type(L, arg) != LUA_TTABLE) luaL_typeerror(L, arg, what);
}

// "Message data empty" in the seed's sense: nil, or a table with no entries.  [-0, +0, -]
bool is_empty_data(lua_State* L, int index) {
  if (lua_isnoneornil(L, index)) return true;
  if (lua_type(L, index) != LUA_TTABLE) return false;
  index = lua_absindex(L, index);
  lua_pushnil(L);
  if (lua_next(L, index) == 0) return true;
  lua_pop(L, 2);
  return false;
}

Status not_configured() {
  return invalid_error("queue module is not configured: set QPLUG_CONFIG or call queue.configure(path)");
}

// The seed's error table: caller mistakes and permission keep their kind;
// every failure of the publish itself is INTERNAL and retryable, with the
// driver's own error kept in the message.
Status publish_status(Status st) {
  switch (st.kind()) {
    case ErrorKind::OK:
    case ErrorKind::INVALID:
    case ErrorKind::NOT_FOUND:
    case ErrorKind::PERMISSION_DENIED:
      return st;
    default:
      return internal_error("publish failed: " + st.to_string(), true);
  }
}

Status publish_one(lua_State* L, Binding* b, std::string_view queue_id) {
  if (queue_id.empty()) return invalid_error("queue ID is empty");
  if (b->runtime == nullptr) return not_configured();
  if (is_empty_data(L, 2)) return invalid_error("message data is empty");
  Status st = to_value(L, 2, &b->scratch_value);
  if (!st.ok()) return st;
  if (lua_isnoneornil(L, 3)) {
    b->scratch_headers.clear();
  } else {
    st = to_headers(L, 3, &b->scratch_headers);
    if (!st.ok()) return st;
  }
  return publish_status(b->runtime->publish(queue_id, b->scratch_value, b->scratch_headers, b->security_or_null()));
}

// Pushes true | nil, err.  [-0, +(1|2), m]
int push_status(lua_State* L, const Status& st) {
  if (!st.ok()) return push_fail(L, st);
  lua_pushboolean(L, 1);
  return 1;
}

// queue.publish(queue_id, data [, headers]) -> true | nil, err  [-0, +(1|2), v]
int queue_publish(lua_State* L) {
  std::string_view queue_id = check_queue_id(L, 1);
  check_optional_table(L, 3, "table (headers)");
  return push_status(L, publish_one(L, upvalue_binding(L), queue_id));
}

Status publish_many(lua_State* L, Binding* b, std::string_view queue_id) {
  if (queue_id.empty()) return invalid_error("queue ID is empty");
  if (b->runtime == nullptr) return not_configured();
  Status st = validate_queue_id(queue_id);
  if (!st.ok()) return st;
  const QueueEntry* entry = b->runtime->config().find_queue(queue_id);
  if (entry == nullptr) return not_found_error("unknown queue '" + std::string(queue_id) + "'");
  const Codec* codec = find_codec(entry->codec);
  if (codec == nullptr)
    return invalid_error("queue '" + std::string(queue_id) + "' has unknown codec '" + entry->codec + "'");
  lua_Integer n = static_cast<lua_Integer>(lua_rawlen(L, 2));
  if (n == 0) return invalid_error("message data is empty (the batch holds no messages)");
  Headers headers;
  if (!lua_isnoneornil(L, 3)) {
    st = to_headers(L, 3, &headers);
    if (!st.ok()) return st;
  }
  std::vector<Message> messages(static_cast<size_t>(n));
  for (lua_Integer i = 1; i <= n; ++i) {
    lua_rawgeti(L, 2, i);
    Message& m = messages[static_cast<size_t>(i - 1)];
    if (is_empty_data(L, -1)) {
      st = invalid_error("message data is empty (batch item " + std::to_string(i) + ")");
    } else {
      st = to_value(L, -1, &b->scratch_value);
      if (st.ok()) st = codec->encode(b->scratch_value, &m.body);
      if (!st.ok()) st = Status(st.kind(), "batch item " + std::to_string(i) + ": " + st.message(), st.retryable());
    }
    lua_pop(L, 1);
    if (!st.ok()) return st;
    m.headers = headers;
  }
  return publish_status(b->runtime->publish_batch(queue_id, std::move(messages), b->security_or_null()));
}

// queue.publish_batch(queue_id, {data1, data2, ...} [, headers]) -> true | nil, err
// One driver round trip for the whole batch; every message gets `headers`.  [-0, +(1|2), v]
int queue_publish_batch(lua_State* L) {
  std::string_view queue_id = check_queue_id(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  check_optional_table(L, 3, "table (headers)");
  return push_status(L, publish_many(L, upvalue_binding(L), queue_id));
}

// queue.message() -> Message | nil, err (INVALID outside a consumer)  [-0, +(1|2), m]
int queue_message(lua_State* L) {
  Binding* b = upvalue_binding(L);
  if (b->delivery == nullptr) {
    return push_fail(L,
                     invalid_error("no delivery context: queue.message() is only available inside a queue consumer"));
  }
  push_message(L, b);
  return 1;
}

Status fetch_info(Binding* b, std::string_view queue_id, QueueInfo* out) {
  if (queue_id.empty()) return invalid_error("queue ID is empty");
  if (b->runtime == nullptr) return not_configured();
  Result<QueueInfo> info = b->runtime->info(queue_id);
  if (!info.ok()) return info.status();
  *out = *info;
  return ok_status();
}

// queue.info(queue_id) -> {messages=, in_flight=, consumers=} | nil, err
// A count the driver cannot tell is absent (nil).  [-0, +(1|2), v]
int queue_info(lua_State* L) {
  std::string_view queue_id = check_queue_id(L, 1);
  QueueInfo info;
  Status st = fetch_info(upvalue_binding(L), queue_id, &info);
  if (!st.ok()) return push_fail(L, st);
  lua_createtable(L, 0, 3);
  const std::pair<const char*, int64_t> fields[] = {
      {"messages", info.messages}, {"in_flight", info.in_flight}, {"consumers", info.consumers}};
  for (const auto& [name, count] : fields) {
    if (count < 0) continue;
    lua_pushinteger(L, static_cast<lua_Integer>(count));
    lua_setfield(L, -2, name);
  }
  return 1;
}

}  // namespace

void push_queue_module(lua_State* L) {
  register_message_type(L);
  static const luaL_Reg kFunctions[] = {{"publish", queue_publish},
                                        {"publish_batch", queue_publish_batch},
                                        {"message", queue_message},
                                        {"info", queue_info},
                                        {nullptr, nullptr}};
  luaL_newlibtable(L, kFunctions);
  push_binding(L);
  luaL_setfuncs(L, kFunctions, 1);
}

}  // namespace qplug::lua::detail
