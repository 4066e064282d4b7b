// amqp_errors.hpp -- the one place librabbitmq's error space (library status
// codes, AMQP reply codes in connection.close/channel.close) is translated
// to qplug codes.
#pragma once

#include <amqp.h>
#include <qplug/driver.h>

#include <string>

namespace qplug::amqp {

// Fills *st from an RPC reply; returns the qplug code (QPLUG_OK for NORMAL).
// `what` names the operation ("declare queue 'x'").
int32_t status_from_reply(const amqp_rpc_reply_t& r, const std::string& what, qplug_status* st);

// Fills *st from a librabbitmq status code (socket errors, timeouts...).
int32_t status_from_library(int code, const std::string& what, qplug_status* st);

// True when the reply means the whole connection is gone (vs. one channel).
bool is_connection_error(const amqp_rpc_reply_t& r);

}  // namespace qplug::amqp
