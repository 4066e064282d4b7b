// rstream_connection.cpp -- connecting and talking to one Redis server.
#include "rstream_connection.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <qplug/sdk/status.hpp>
#include <utility>

#include "rstream_errors.hpp"

namespace qplug::rstream {

namespace {
timeval to_timeval(int64_t ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms % 1000) * 1000);
  return tv;
}

// Fills hiredis' (argv, lengths) arrays; reuses the vectors' capacity.
void argv_ptrs(const std::vector<std::string_view>& argv, std::vector<const char*>* ptrs, std::vector<size_t>* lens) {
  ptrs->clear();
  lens->clear();
  for (std::string_view a : argv) {
    ptrs->push_back(a.data() == nullptr ? "" : a.data());
    lens->push_back(a.size());
  }
}
}  // namespace

bool Connection::connect(const Endpoint& ep, int64_t extra_read_timeout_ms, qplug_status* st) {
  reset();
  address_ = ep.address();
  redisContext* c = redisConnectWithTimeout(ep.host.c_str(), ep.port, to_timeval(ep.connect_timeout_ms));
  if (c == nullptr) {
    sdk::fail(st, QPLUG_UNAVAILABLE, true, "redis %s: cannot allocate a connection", address_.c_str());
    return false;
  }
  if (c->err != 0) {
    sdk::fail(st, QPLUG_UNAVAILABLE, true, "redis %s: connect failed: %s", address_.c_str(), c->errstr);
    redisFree(c);
    return false;
  }
  use_reply_arenas(c->reader, &arena_);
  {
    std::lock_guard lock(ctx_mu_);
    ctx_ = c;
  }
  redisEnableKeepAlive(c);
  redisSetTimeout(c, to_timeval(ep.command_timeout_ms + extra_read_timeout_ms));
  if (!ep.password.empty()) {
    Reply r = ep.user.empty() ? command({"AUTH", ep.password}, st) : command({"AUTH", ep.user, ep.password}, st);
    if (!r) return false;
    if (r->type == REDIS_REPLY_ERROR) {
      fail_reply(st, r.get(), "AUTH");
      reset();
      return false;
    }
  }
  if (!ep.client_name.empty()) {  // shows in CLIENT LIST: who holds this connection
    Reply r = command({"CLIENT", "SETNAME", ep.client_name}, st);
    if (!r) return false;
    if (r->type == REDIS_REPLY_ERROR) {
      fail_reply(st, r.get(), "CLIENT SETNAME");
      reset();
      return false;
    }
  }
  if (ep.db != 0) {
    std::string db = std::to_string(ep.db);
    Reply r = command({"SELECT", db}, st);
    if (!r) return false;
    if (r->type == REDIS_REPLY_ERROR) {
      fail_reply(st, r.get(), "SELECT");
      reset();
      return false;
    }
  }
  return true;
}

void Connection::reset() {
  redisContext* old = nullptr;
  {
    std::lock_guard lock(ctx_mu_);
    std::swap(old, ctx_);
  }
  if (old != nullptr) redisFree(old);  // closes the fd: interrupt() can no longer see it
}

void Connection::interrupt() {
  std::lock_guard lock(ctx_mu_);
  if (ctx_ != nullptr && ctx_->fd >= 0) ::shutdown(ctx_->fd, SHUT_RDWR);
}

void Connection::fail_io(qplug_status* st) {
  if (ctx_ != nullptr) {
    ErrorClass cls = classify_io_error(ctx_->err);
    sdk::fail(st, cls.code, cls.retryable, "redis %s: connection lost: %s", address_.c_str(),
              ctx_->err != 0 ? ctx_->errstr : "no reply");
  } else {
    sdk::fail(st, QPLUG_UNAVAILABLE, true, "redis %s: not connected", address_.c_str());
  }
  reset();
}

bool Connection::append(const std::vector<std::string_view>& argv) {
  if (ctx_ == nullptr) return false;
  std::vector<size_t> lens;
  std::vector<const char*> ptrs;
  argv_ptrs(argv, &ptrs, &lens);
  return redisAppendCommandArgv(ctx_, static_cast<int>(ptrs.size()), ptrs.data(), lens.data()) == REDIS_OK;
}

bool Connection::append_formatted(const char* cmd, size_t len) {
  return ctx_ != nullptr && redisAppendFormattedCommand(ctx_, cmd, len) == REDIS_OK;
}

Reply Connection::read_reply(qplug_status* st) {
  if (ctx_ == nullptr) {
    fail_io(st);
    return nullptr;
  }
  void* raw = nullptr;
  if (redisGetReply(ctx_, &raw) != REDIS_OK || raw == nullptr) {
    fail_io(st);
    return nullptr;
  }
  return Reply(static_cast<redisReply*>(raw));
}

Reply Connection::read_reply_by(std::chrono::steady_clock::time_point until, bool* timed_out, qplug_status* st) {
  *timed_out = false;
  if (ctx_ == nullptr) {
    fail_io(st);
    return nullptr;
  }
  for (int done = 0; done == 0;) {  // send what is appended (within the socket's write timeout)
    if (redisBufferWrite(ctx_, &done) != REDIS_OK) {
      fail_io(st);
      return nullptr;
    }
  }
  for (;;) {
    void* raw = nullptr;  // a reply already read with an earlier one comes first
    if (redisGetReplyFromReader(ctx_, &raw) != REDIS_OK) {
      fail_io(st);
      return nullptr;
    }
    if (raw != nullptr) return Reply(static_cast<redisReply*>(raw));
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()).count();
    if (left <= 0) {
      *timed_out = true;
      return nullptr;
    }
    pollfd readable{ctx_->fd, POLLIN, 0};
    const int n = ::poll(&readable, 1, static_cast<int>(std::min<int64_t>(left, 60000)));
    if (n == 0 || (n < 0 && errno == EINTR)) continue;  // the loop checks `until` again
    if (n < 0 || redisBufferRead(ctx_) != REDIS_OK) {   // readable: this read does not block
      fail_io(st);
      return nullptr;
    }
  }
}

Reply Connection::command(const std::vector<std::string_view>& argv, qplug_status* st) {
  if (!append(argv)) {
    fail_io(st);
    return nullptr;
  }
  return read_reply(st);
}

int32_t fail_reply(qplug_status* st, const redisReply* r, const char* what) {
  std::string_view text = reply_text(r);
  ErrorClass cls = classify_reply_error(text);
  return sdk::fail(st, cls.code, cls.retryable, "redis %s: %.*s", what, static_cast<int>(text.size()), text.data());
}

}  // namespace qplug::rstream
