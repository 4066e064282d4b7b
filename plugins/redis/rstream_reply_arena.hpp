// rstream_reply_arena.hpp -- hiredis replies parsed into one arena each.
//
// Why: hiredis' default reply builder makes two heap allocations per reply
// element (the redisReply and its string). An XREADGROUP reply of 100
// entries with 5 fields each is ~1300 elements, so the reader spent most of
// its time in malloc, free and glibc's fastbin consolidation (measured: more
// than half of its CPU). Here every element of one top-level reply is
// bump-allocated from a few growing blocks, and freeing the reply frees the
// blocks: a handful of allocations per read instead of thousands.
//
// The replies keep hiredis' redisReply layout, so every reader of a reply is
// unchanged; only freeing differs: free_reply(), never freeReplyObject().
// Installed on every connection the driver opens (rstream_connection.cpp).
// With hiredis >= 1.0 (whose builder interface differs) the default builder
// is kept and free_reply() is freeReplyObject().
#pragma once

#include <hiredis.h>

namespace qplug::rstream {

// Per-connection builder state (the reply being built). Lives as long as the
// connection; one thread at a time, like the connection.
struct ReplyArenaCursor {
  void* first = nullptr;  // first block of the reply being built
  void* last = nullptr;   // block being filled
};

// Makes `reader` (a context's c->reader) build its replies in arenas
// tracked by *cursor.
void use_reply_arenas(redisReader* reader, ReplyArenaCursor* cursor);

// Frees a reply returned by a context set up with use_reply_arenas(). Any thread.
void free_reply(redisReply* reply);

}  // namespace qplug::rstream
