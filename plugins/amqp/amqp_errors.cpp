// amqp_errors.cpp -- librabbitmq / AMQP reply codes -> qplug codes.
#include "amqp_errors.hpp"

#include <qplug/sdk/status.hpp>

namespace qplug::amqp {
namespace {

struct AmqpCodeMap {
  uint16_t reply_code;
  int32_t code;
  bool retryable;
};

// AMQP 0-9-1 reply codes (spec section 1.9) as qplug sees them.
constexpr AmqpCodeMap amqp_reply_codes[] = {
    {320, QPLUG_UNAVAILABLE, true},         // connection-forced (broker shutting down)
    {403, QPLUG_PERMISSION_DENIED, false},  // access-refused (credentials, permissions)
    {404, QPLUG_NOT_FOUND, false},          // not-found
    {405, QPLUG_UNAVAILABLE, true},         // resource-locked (exclusive queue/consumer)
    {406, QPLUG_INVALID, false},            // precondition-failed (queue exists with other args)
    {506, QPLUG_FULL, true},                // resource-error (broker out of resources)
    {530, QPLUG_PERMISSION_DENIED, false},  // not-allowed (vhost access)
};

void amqp_close_reason(const amqp_rpc_reply_t& r, uint16_t* code, std::string* text) {
  if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
    auto* m = static_cast<amqp_connection_close_t*>(r.reply.decoded);
    *code = m->reply_code;
    *text = std::string(static_cast<const char*>(m->reply_text.bytes), m->reply_text.len);
  } else if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
    auto* m = static_cast<amqp_channel_close_t*>(r.reply.decoded);
    *code = m->reply_code;
    *text = std::string(static_cast<const char*>(m->reply_text.bytes), m->reply_text.len);
  } else {
    *code = 0;
    *text = "unexpected method from the broker";
  }
}

}  // namespace

int32_t status_from_library(int code, const std::string& what, qplug_status* st) {
  switch (code) {
    case AMQP_STATUS_OK:
      return QPLUG_OK;
    case AMQP_STATUS_TIMEOUT:
    case AMQP_STATUS_HEARTBEAT_TIMEOUT:
      return sdk::fail(st, QPLUG_TIMEOUT, true, "amqp: %s: %s", what.c_str(), amqp_error_string2(code));
    case AMQP_STATUS_NO_MEMORY:
      return sdk::fail(st, QPLUG_INTERNAL, true, "amqp: %s: out of memory", what.c_str());
    case AMQP_STATUS_BAD_URL:
    case AMQP_STATUS_INVALID_PARAMETER:
      return sdk::fail(st, QPLUG_INVALID, false, "amqp: %s: %s", what.c_str(), amqp_error_string2(code));
    default:  // socket, ssl, hostname, connection closed...: the broker is unreachable
      return sdk::fail(st, QPLUG_UNAVAILABLE, true, "amqp: %s: %s", what.c_str(), amqp_error_string2(code));
  }
}

int32_t status_from_reply(const amqp_rpc_reply_t& r, const std::string& what, qplug_status* st) {
  switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
      return QPLUG_OK;
    case AMQP_RESPONSE_NONE:
      return sdk::fail(st, QPLUG_UNAVAILABLE, true, "amqp: %s: no reply from broker", what.c_str());
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      return status_from_library(r.library_error, what, st);
    case AMQP_RESPONSE_SERVER_EXCEPTION: {
      uint16_t code = 0;
      std::string text;
      amqp_close_reason(r, &code, &text);
      for (const AmqpCodeMap& m : amqp_reply_codes)
        if (m.reply_code == code)
          return sdk::fail(st, m.code, m.retryable, "amqp: %s: %u %s", what.c_str(), code, text.c_str());
      return sdk::fail(st, QPLUG_INTERNAL, false, "amqp: %s: %u %s", what.c_str(), code, text.c_str());
    }
  }
  return sdk::fail(st, QPLUG_INTERNAL, false, "amqp: %s: unknown reply", what.c_str());
}

bool is_connection_error(const amqp_rpc_reply_t& r) {
  if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION) return true;
  return r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION && r.reply.id != AMQP_CHANNEL_CLOSE_METHOD;
}

}  // namespace qplug::amqp
