// rstream_replies.hpp -- the shapes of the stream replies the reader walks:
// XREADGROUP  [[key, entries]]             (nil when BLOCK timed out)
// XAUTOCLAIM  [cursor, entries, deleted-ids]
// entries     [[id, [field, value, ...]], ...]; a pending entry deleted since
//             (XDEL, trimming) comes back as [id, nil].
// In one file, apart from the reader thread, so tests/fuzz can feed these
// functions every reply a parser can produce (redis_reply_fuzz).
#pragma once

#include <hiredis.h>

#include <string_view>

namespace qplug::rstream {

bool is_array(const redisReply* r);

// The entries array of an XREADGROUP reply for one stream; NULL when the
// reply has none (nil, an error, another shape).
const redisReply* xread_entries(const redisReply* r);

// The cursor and entries of an XAUTOCLAIM reply; false for another shape.
bool xautoclaim_parts(const redisReply* r, std::string_view* cursor, const redisReply** entries);

// The ID of one element of an entries array; empty for a malformed element.
std::string_view entry_id_of(const redisReply* entry);

}  // namespace qplug::rstream
