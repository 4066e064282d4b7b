// rstream_delay.cpp -- the two scripts behind delayed messages (see the header).
#include "rstream_delay.hpp"

namespace qplug::rstream {

std::string delayed_set_key(const std::string& stream_key) { return stream_key + ":delayed"; }
std::string delayed_msgs_key(const std::string& stream_key) { return stream_key + ":delayed:msgs"; }

// Due = server time rounded UP to the millisecond + delay, so a message is
// never moved before publish time + delay.
const char* const kScheduleScript = R"lua(
local t = redis.call('TIME')
local us = tonumber(t[1]) * 1000000 + tonumber(t[2])
local due = math.floor((us + 999) / 1000) + tonumber(ARGV[1])
local id = redis.call('XADD', KEYS[2], '*', unpack(ARGV, 2))
redis.call('ZADD', KEYS[1], string.format('%.0f', due), id)
return id
)lua";

// Moves up to ARGV[1] due messages, earliest first. A member whose parking
// entry is gone (deleted by hand) is dropped from the set, never retried.
const char* const kMoveScript = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
local moved = 0
for _, id in ipairs(due) do
  local e = redis.call('XRANGE', KEYS[2], id, id)
  if e[1] then
    if ARGV[2] ~= '0' then
      redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], '*', unpack(e[1][2]))
    else
      redis.call('XADD', KEYS[3], '*', unpack(e[1][2]))
    end
    redis.call('XDEL', KEYS[2], id)
    moved = moved + 1
  end
  redis.call('ZREM', KEYS[1], id)
end
local nxt = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local next_due = -1
if nxt[2] then next_due = tonumber(nxt[2]) end
return {moved, next_due, now}
)lua";

void schedule_argv(const std::string& set_key, const std::string& msgs_key, const std::string& delay_ms,
                   const std::vector<std::string_view>& fields, std::vector<std::string_view>* argv) {
  argv->clear();
  argv->push_back("EVAL");
  argv->push_back(kScheduleScript);
  argv->push_back("2");
  argv->push_back(set_key);
  argv->push_back(msgs_key);
  argv->push_back(delay_ms);
  argv->insert(argv->end(), fields.begin(), fields.end());
}

}  // namespace qplug::rstream
