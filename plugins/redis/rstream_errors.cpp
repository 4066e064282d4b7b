// rstream_errors.cpp -- error mapping table for the Redis streams driver.
#include "rstream_errors.hpp"

#include <hiredis.h>

namespace qplug::rstream {

ErrorClass classify_io_error(int hiredis_err) {
  switch (hiredis_err) {
    case REDIS_ERR_OOM:
      return {QPLUG_INTERNAL, true};
    case REDIS_ERR_PROTOCOL:
      return {QPLUG_INTERNAL, false};
    default:
      return {QPLUG_UNAVAILABLE, true};  // IO, EOF, OTHER (connect refused, DNS)
  }
}

namespace {
struct Prefix {
  std::string_view prefix;
  ErrorClass cls;
};
// Redis error replies start with an upper-case code word.
constexpr Prefix kReplyErrors[] = {
    {"NOAUTH", {QPLUG_PERMISSION_DENIED, false}},
    {"WRONGPASS", {QPLUG_PERMISSION_DENIED, false}},
    {"NOPERM", {QPLUG_PERMISSION_DENIED, false}},
    {"WRONGTYPE", {QPLUG_INVALID, false}},
    {"NOGROUP", {QPLUG_NOT_FOUND, false}},
    {"OOM", {QPLUG_FULL, true}},
    {"LOADING", {QPLUG_UNAVAILABLE, true}},
    {"BUSY", {QPLUG_UNAVAILABLE, true}},
    {"MASTERDOWN", {QPLUG_UNAVAILABLE, true}},
    {"READONLY", {QPLUG_UNAVAILABLE, true}},
    {"TRYAGAIN", {QPLUG_UNAVAILABLE, true}},
    {"CLUSTERDOWN", {QPLUG_UNAVAILABLE, true}},
    {"ERR invalid password", {QPLUG_PERMISSION_DENIED, false}},
    {"ERR AUTH", {QPLUG_PERMISSION_DENIED, false}},
    {"ERR DB index", {QPLUG_INVALID, false}},
};
}  // namespace

ErrorClass classify_reply_error(std::string_view text) {
  for (const Prefix& p : kReplyErrors)
    if (text.substr(0, p.prefix.size()) == p.prefix) return p.cls;
  return {QPLUG_INTERNAL, false};
}

}  // namespace qplug::rstream
