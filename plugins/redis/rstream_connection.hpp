// rstream_connection.hpp -- one hiredis connection, owned by ONE thread
// (hiredis is not thread-safe). RAII over redisContext: connect, AUTH,
// SELECT, timeouts; typed replies that free themselves.
#pragma once

#include <hiredis.h>
#include <qplug/driver.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "rstream_reply_arena.hpp"
#include "rstream_resp.hpp"
#include "rstream_settings.hpp"

namespace qplug::rstream {

struct ReplyFree {
  void operator()(redisReply* r) const { free_reply(r); }  // replies are arena-built
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

inline std::string_view reply_text(const redisReply* r) {
  return r == nullptr || r->str == nullptr ? std::string_view{} : std::string_view(r->str, r->len);
}

class Connection {
 public:
  Connection() = default;
  ~Connection() { reset(); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Connects, authenticates and selects the database. `extra_read_timeout_ms`
  // lengthens the socket timeout for connections that BLOCK server-side.
  // On failure fills `status` (UNAVAILABLE retryable, or PERMISSION_DENIED).
  bool connect(const Endpoint& ep, int64_t extra_read_timeout_ms, qplug_status* status);
  void reset();
  bool connected() const { return ctx_ != nullptr; }
  redisContext* raw() { return ctx_; }

  // Any thread: shuts the socket down so a blocked read on the owning thread
  // returns with an I/O error (unsubscribe interrupting a BLOCKing read).
  void interrupt();

  // Sends one command and reads its reply. nullptr on an I/O failure (the
  // connection is then reset and `status` says why); an error REPLY is
  // returned as a reply of type REDIS_REPLY_ERROR.
  Reply command(const std::vector<std::string_view>& argv, qplug_status* status);

  // Pipelining: append many, then read as many replies.
  bool append(const std::vector<std::string_view>& argv);
  bool append_formatted(const char* cmd, size_t len);
  Reply read_reply(qplug_status* status);

  // read_reply(), but waiting for the reply no later than `until` (poll()
  // on the socket): when `until` passes first it returns nullptr with
  // *timed_out set and the connection intact, the reply still to come. A
  // socket timeout cannot do that: hiredis fails the connection when it
  // expires. nullptr without *timed_out: an I/O failure, as read_reply().
  Reply read_reply_by(std::chrono::steady_clock::time_point until, bool* timed_out, qplug_status* status);

  // Fills `status` from the context's I/O error and resets the connection.
  void fail_io(qplug_status* status);

 private:
  // Used by the owning thread only, except that interrupt() reads it from
  // another: every change of ctx_ happens under ctx_mu_, so interrupt()
  // never shuts down a socket that is being freed (or whose fd number was
  // already reused by another connection).
  redisContext* ctx_ = nullptr;
  std::mutex ctx_mu_;
  ReplyArenaCursor arena_;  // the reply ctx_ is building (see use_reply_arenas)
  std::string address_;
};

// Fills `status` from an error reply, prefixed with what was attempted.
int32_t fail_reply(qplug_status* status, const redisReply* reply, const char* what);

}  // namespace qplug::rstream
