// qplug/status.hpp -- error values of the C++ API.
//
// Kinds mirror the Lua `errors` module and the ABI codes. A Status is
// [[nodiscard]] so an error cannot be dropped silently; Result<T> carries a
// value or a Status.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace qplug {

enum class ErrorKind : int32_t {
  OK = 0,
  INVALID = 1,
  NOT_FOUND = 2,
  PERMISSION_DENIED = 3,
  UNAVAILABLE = 4,
  TIMEOUT = 5,
  FULL = 6,
  CANCELED = 7,
  INTERNAL = 8,
};

// "INVALID", "NOT_FOUND", ... (the names Lua's errors module exposes).
std::string_view kind_name(ErrorKind kind);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(ErrorKind kind, std::string message, bool retryable = false)
      : kind_(kind), message_(std::move(message)), retryable_(retryable) {}

  bool ok() const { return kind_ == ErrorKind::OK; }
  ErrorKind kind() const { return kind_; }
  const std::string& message() const { return message_; }
  bool retryable() const { return retryable_; }
  // "INVALID: queue ID is empty" (kind name, then message).
  std::string to_string() const;
  // Explicitly discard (documents intent at call sites).
  void ignore() const {}

 private:
  ErrorKind kind_ = ErrorKind::OK;
  std::string message_;
  bool retryable_ = false;
};

inline Status ok_status() { return Status(); }
inline Status invalid_error(std::string m) { return {ErrorKind::INVALID, std::move(m), false}; }
inline Status not_found_error(std::string m) { return {ErrorKind::NOT_FOUND, std::move(m), false}; }
inline Status permission_denied_error(std::string m) { return {ErrorKind::PERMISSION_DENIED, std::move(m), false}; }
inline Status unavailable_error(std::string m) { return {ErrorKind::UNAVAILABLE, std::move(m), true}; }
inline Status timeout_error(std::string m) { return {ErrorKind::TIMEOUT, std::move(m), true}; }
inline Status full_error(std::string m) { return {ErrorKind::FULL, std::move(m), true}; }
inline Status canceled_error(std::string m) { return {ErrorKind::CANCELED, std::move(m), false}; }
inline Status internal_error(std::string m, bool retryable = false) {
  return {ErrorKind::INTERNAL, std::move(m), retryable};
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {}  // NOLINT(google-explicit-constructor)
  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace qplug
