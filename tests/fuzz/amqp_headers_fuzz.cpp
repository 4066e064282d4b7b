// Fuzzes the AMQP driver's delivery decoding: the input is the encoded basic
// properties of a content header frame (flags, then the fields, header table
// included), decoded by librabbitmq's own amqp_decode_properties exactly as
// on the wire, then turned into a qplug message by read_incoming
// (amqp_headers). Invariants: no crash; attempts >= 1; no header key twice
// (sdk::drop_repeated_headers keeps the first); a delivered message
// that the driver can publish again (OutgoingProperties::build) comes back
// from the wire with the same id, content type, body, headers and attempts.
#include <amqp.h>
#include <amqp_framing.h>

#include <cstdint>
#include <qplug/sdk/message.hpp>
#include <qplug/sdk/status.hpp>
#include <qplug/sdk/validate.hpp>
#include <string>
#include <vector>

#include "amqp_headers.hpp"
#include "fuzz_check.hpp"
#include "fuzz_message.hpp"

namespace {

// Decodes encoded properties plus `body` into a qplug message; false when
// librabbitmq refuses the bytes.
bool fuzz_deliver(amqp_bytes_t encoded, const std::string& body, bool redelivered, qplug::sdk::OwnedMessage* out) {
  amqp_pool_t pool;
  init_amqp_pool(&pool, 4096);
  void* decoded = nullptr;
  const int rc = amqp_decode_properties(AMQP_BASIC_CLASS, &pool, encoded, &decoded);
  if (rc == AMQP_STATUS_OK) {
    amqp_message_t msg{};
    msg.properties = *static_cast<amqp_basic_properties_t*>(decoded);
    msg.body = amqp_bytes_t{body.size(), const_cast<char*>(body.data())};
    qplug::amqp::read_incoming(msg, redelivered, out);
  }
  empty_amqp_pool(&pool);
  return rc == AMQP_STATUS_OK;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool redelivered = (data[0] & 1) != 0;
  const amqp_bytes_t encoded{size - 1, const_cast<uint8_t*>(data + 1)};
  const std::string body = "body";
  qplug::sdk::OwnedMessage first;
  if (!fuzz_deliver(encoded, body, redelivered, &first)) return 0;
  FUZZ_CHECK(first.attempts >= 1);
  std::vector<qplug::sdk::OwnedHeader> unique = first.headers;
  FUZZ_CHECK(qplug::sdk::drop_repeated_headers(&unique) == 0);
  // Published again (a consumer forwarding it, or the driver's own requeue).
  qplug_status st = qplug::sdk::make_status();
  if (qplug::sdk::check_message(&first.view(), 0, "fuzz", qplug::sdk::MessageLimits{}, &st) != QPLUG_OK) return 0;
  qplug::amqp::OutgoingProperties out;
  if (!out.build(first, true, -1, first.attempts, false, false).empty()) return 0;
  // Re-encoding adds a few fields to at most what was decoded from 4 KB of
  // input; one buffer for all runs keeps the loop fast.
  static std::vector<uint8_t> buffer(1 << 16);
  const int n = amqp_encode_properties(AMQP_BASIC_CLASS, const_cast<amqp_basic_properties_t*>(out.get()),
                                       amqp_bytes_t{buffer.size(), buffer.data()});
  FUZZ_CHECK(n >= 0);
  qplug::sdk::OwnedMessage second;
  FUZZ_CHECK(fuzz_deliver(amqp_bytes_t{static_cast<size_t>(n), buffer.data()}, body, false, &second));
  FUZZ_CHECK(qplug::fuzz::same_message(qplug::fuzz::sorted_headers(first), qplug::fuzz::sorted_headers(second)));
  FUZZ_CHECK(second.attempts == first.attempts);
  return 0;
}
