// amqp_headers.hpp -- mapping a qplug message to AMQP basic properties plus
// a typed header table, and back.
//
// Publish: neutral keys become native properties (correlation_id, reply_to,
// message_type -> type, priority -> priority, ttl -> expiration, delay -> the
// delay level queue it is published to, see amqp_topology.hpp); every other
// header goes into the header table with its type (string -> longstr 'S',
// int64 -> 'l', double -> 'd', bool -> 't', bytes -> 'x', null -> 'V').
// `priority`, `ttl` and `content_type` are ALSO kept verbatim in the table
// because their native forms lose the caller's spelling ("high", "5s").
// Delivery: the reverse; the verbatim table entry wins over the property, so
// every header comes back with the key, value and type it was published with.
#pragma once

#include <amqp.h>

#include <qplug/sdk/message.hpp>
#include <qplug/sdk/validate.hpp>
#include <string>
#include <vector>

namespace qplug::amqp {

// Attempt counter carried across republish-on-nack (see docs/drivers/amqp.md).
inline constexpr const char* kAttemptsHeader = "x-qplug-attempts";

// The SDK's message limits for a connection with this frame_max. The content
// header (basic properties, the header table among them) must fit in ONE
// frame, or the broker closes the whole connection (FRAME_ERROR) and every
// publish in flight on it fails: a table entry is a shortstr key (1 + key),
// a type byte and a value (longstr: 4 + bytes; numbers at most 8), and
// kPropertiesReserveBytes covers the frame and the other properties (ids,
// content type, expiration, the driver's own verbatim entries).
inline constexpr size_t kPropertiesReserveBytes = 2048;
inline sdk::MessageLimits message_limits(int frame_max) {
  sdk::MessageLimits limits;
  limits.header_entry_overhead_bytes = 1 + 1 + 4;
  limits.header_scalar_bytes = 8;
  const size_t frame = frame_max > 0 ? static_cast<size_t>(frame_max) : 4096;
  limits.max_header_block_bytes = frame > kPropertiesReserveBytes ? frame - kPropertiesReserveBytes : 0;
  return limits;
}

// Owns everything amqp_basic_properties_t points into while one message is
// being published. Build, publish, then let it go.
class OutgoingProperties {
 public:
  // Returns "" on success, else why the message cannot be published (INVALID).
  // priority_queue: the queue has x-max-priority, so a message without the
  // header gets priority 5 ("normal"). honour_delay: read the `delay` header
  // into delay_ms() (false for a requeued copy, which is due at once); it
  // is validated either way.
  std::string build(const sdk::OwnedMessage& m, bool persistent, int64_t default_ttl_ms, uint32_t attempts,
                    bool priority_queue, bool honour_delay);
  const amqp_basic_properties_t* get() const { return &props_; }
  int64_t delay_ms() const { return delay_ms_; }  // 0: due now
  bool has_priority() const { return has_priority_; }

 private:
  amqp_basic_properties_t props_{};
  std::vector<amqp_table_entry_t> entries_;
  std::string expiration_;
  int64_t delay_ms_ = 0;
  bool has_priority_ = false;
};

// Copies a delivered AMQP message into `out` (id, content type, body, typed
// headers) and computes the attempt number from x-qplug-attempts,
// x-delivery-count (quorum queues) and the redelivered flag.
void read_incoming(const amqp_message_t& in, bool redelivered, sdk::OwnedMessage* out);

}  // namespace qplug::amqp
