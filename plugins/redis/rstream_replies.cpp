// rstream_replies.cpp -- reading stream reply shapes (see rstream_replies.hpp).
#include "rstream_replies.hpp"

#include "rstream_connection.hpp"

namespace qplug::rstream {

bool is_array(const redisReply* r) { return r != nullptr && r->type == REDIS_REPLY_ARRAY; }

const redisReply* xread_entries(const redisReply* r) {
  return is_array(r) && r->elements == 1 ? r->element[0]->element[1] : nullptr;
}

bool xautoclaim_parts(const redisReply* r, std::string_view* cursor, const redisReply** entries) {
  if (r->type == REDIS_REPLY_ERROR || !is_array(r) || r->elements < 2) return false;
  *cursor = reply_text(r->element[0]);
  *entries = r->element[1];
  return true;
}

std::string_view entry_id_of(const redisReply* entry) { return reply_text(entry->element[0]); }

}  // namespace qplug::rstream
