// rstream_replies.cpp -- reading stream reply shapes (see rstream_replies.hpp).
#include "rstream_replies.hpp"

#include "rstream_connection.hpp"

namespace qplug::rstream {

bool is_array(const redisReply* r) { return r != nullptr && r->type == REDIS_REPLY_ARRAY; }

// Every level is checked before it is entered: a reply of another shape
// (a proxy, a server that is not Redis, a future version) must be refused,
// not followed into a NULL element array (tests/fuzz/corpus/redis_reply_fuzz).

const redisReply* xread_entries(const redisReply* r) {
  if (!is_array(r) || r->elements != 1) return nullptr;
  const redisReply* stream = r->element[0];
  return is_array(stream) && stream->elements == 2 ? stream->element[1] : nullptr;
}

bool xautoclaim_parts(const redisReply* r, std::string_view* cursor, const redisReply** entries) {
  if (!is_array(r) || r->elements < 2) return false;
  *cursor = reply_text(r->element[0]);
  *entries = r->element[1];
  return true;
}

std::string_view entry_id_of(const redisReply* entry) {
  return is_array(entry) && entry->elements >= 1 ? reply_text(entry->element[0]) : std::string_view{};
}

}  // namespace qplug::rstream
