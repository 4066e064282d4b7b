// rstream_delay.hpp -- delayed messages (QPLUG_CAP_DELAY) kept in Redis.
//
// A message published with a `delay` is not XADDed to the queue's stream.
// Its fields -- exactly what the XADD would have carried (rstream_fields) --
// are XADDed to a parking stream beside it, and the parking entry ID goes
// into a sorted set scored by its due time:
//   <stream>:delayed        ZSET   member = parking entry ID, score = due ms
//   <stream>:delayed:msgs   STREAM the parked fields, one entry per message
// Both steps run in one Lua script (schedule), and so does the move of due
// messages into the stream (move): XADD to the stream, XDEL the parking
// entry, ZREM the member, atomically. Redis runs a script as a whole and
// writes its effects to the AOF as one MULTI/EXEC, so a mover that dies
// mid-way, or two processes moving at once, never lose or duplicate a
// message. Due times use the Redis server's clock (TIME inside the script),
// so publishers and consumers on hosts with skewed clocks agree.
//
// Who moves: each subscription's reader runs `move` before it reads, at
// most until the next due time it learnt or once per `block` poll (a delayed
// message published by another process is therefore moved within one poll).
// Runs on the caller's thread; holds no state of its own.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace qplug::rstream {

std::string delayed_set_key(const std::string& stream_key);
std::string delayed_msgs_key(const std::string& stream_key);

// EVAL script: KEYS = {set, msgs}, ARGV = {delay_ms, field, value, ...};
// returns the parking entry ID.
extern const char* const kScheduleScript;

// EVAL script: KEYS = {set, msgs, stream}, ARGV = {max to move, maxlen (0 = none)};
// returns {moved, next due ms or -1, server now ms}.
extern const char* const kMoveScript;

// argv of one `EVAL schedule` for a message of `fields` (views into `owned`
// and `fields` stay valid as long as they do).
void schedule_argv(const std::string& set_key, const std::string& msgs_key, const std::string& delay_ms,
                   const std::vector<std::string_view>& fields, std::vector<std::string_view>* argv);

}  // namespace qplug::rstream
