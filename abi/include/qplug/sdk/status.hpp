// qplug/sdk/status.hpp -- header-only helpers for filling qplug_status and for
// keeping C++ exceptions from crossing the C ABI. For plugin authors; depends
// only on driver.h and the C++ standard library.
#pragma once

#include <qplug/driver.h>

#include <cstdarg>
#include <cstdio>
#include <exception>
#include <new>
#include <utility>

namespace qplug::sdk {

// Writes code/flags/message into `st` (which may be NULL) and returns code,
// so drivers can write `return fail(st, QPLUG_INVALID, false, "bad key %s", k);`.
[[gnu::format(printf, 4, 5)]] inline int32_t fail(qplug_status* st, int32_t code, bool retryable, const char* fmt,
                                                  ...) {
  if (st != nullptr) {
    st->code = code;
    st->flags = retryable ? QPLUG_STATUS_RETRYABLE : 0u;
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(st->message, sizeof st->message, fmt, ap);
    va_end(ap);
  }
  return code;
}

inline void set_ok(qplug_status* st) {
  if (st != nullptr) {
    st->code = QPLUG_OK;
    st->flags = 0;
    st->message[0] = '\0';
  }
}

inline bool is_ok(const qplug_status& st) { return st.code == QPLUG_OK; }

inline qplug_status make_status() {
  qplug_status st{};
  st.code = QPLUG_OK;
  return st;
}

// Runs `body` and converts any escaping exception into QPLUG_INTERNAL (or a
// retryable QPLUG_INTERNAL for std::bad_alloc). `fallback` is returned in that case
// (nullptr for handle-returning ops, the code for int32_t ops). Wrap EVERY
// extern "C" entry point body in this.
template <typename R, typename F>
R guarded(qplug_status* st, R fallback, F&& body) noexcept {
  try {
    return std::forward<F>(body)();
  } catch (const std::bad_alloc&) {
    fail(st, QPLUG_INTERNAL, true, "out of memory");
  } catch (const std::exception& e) {
    fail(st, QPLUG_INTERNAL, false, "internal error: %s", e.what());
  } catch (...) {
    fail(st, QPLUG_INTERNAL, false, "internal error: unknown exception");
  }
  return fallback;
}

// For void ops (close, consumer_free): swallow everything, there is no status.
template <typename F>
void guarded_void(F&& body) noexcept {
  try {
    std::forward<F>(body)();
  } catch (...) {
  }
}

}  // namespace qplug::sdk
