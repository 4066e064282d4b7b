// mqtt_properties.hpp -- a qplug message as an MQTT v5 PUBLISH and back.
//
// Mapping (docs/drivers/mqtt.md, "Property mapping"):
//   id            -> user property "qplug.id"
//   content_type  -> Content Type property
//   headers       -> user properties "<key>" = "<type>:<text>", type one of
//                    s (string), i (int64, decimal), d (double, C99 hex float,
//                    exact), b (bool, 0/1), x (bytes, lower-case hex), n (null)
//   correlation_id (string) -> Correlation Data; reply_to (string) -> Response
//                    Topic; ttl -> Message Expiry Interval (whole seconds,
//                    rounded up) and also kept as a typed user property
//   attempts      -> user property "qplug.attempts": deliveries before this one
//   due time      -> user property "qplug.due": epoch ms (publisher's clock)
//                    before which a consumer does not hand the message out;
//                    set from the `delay` header, which itself is consumed
//                    (docs/drivers/mqtt.md, "Delay")
// User properties from other clients that do not carry a type prefix arrive as
// STRING headers with their text unchanged.
#pragma once

#include <mosquitto.h>
#include <qplug/driver.h>

#include <cstdint>
#include <qplug/sdk/message.hpp>

namespace qplug::mqtt {

// The clock of due times ("qplug.due"): wall-clock epoch milliseconds. A
// publisher's and a consumer's clocks are assumed in sync (docs/drivers/mqtt.md).
int64_t epoch_ms();

// Owns a property list; frees it on destruction.
class Properties {
 public:
  Properties() = default;
  ~Properties() { mosquitto_property_free_all(&list_); }
  Properties(const Properties&) = delete;
  Properties& operator=(const Properties&) = delete;
  mosquitto_property** out() { return &list_; }
  const mosquitto_property* get() const { return list_; }

 private:
  mosquitto_property* list_ = nullptr;
};

// Builds the PUBLISH properties of message #index. `prior_deliveries` is how
// many times it was delivered before (0 for a fresh publish). INVALID naming
// the message and the header on what MQTT cannot carry. `due_ms` > 0 adds the
// due time (epoch ms).
int32_t encode_properties(const qplug_message& m, uint32_t prior_deliveries, size_t index, Properties* out,
                          qplug_status* st, int64_t due_ms = 0);

// Rebuilds the qplug message of an incoming PUBLISH; attempts = prior + 1.
// *due_ms (when not null) gets its due time, 0 when it has none.
void decode_message(const mosquitto_message& msg, const mosquitto_property* props, sdk::OwnedMessage* out,
                    int64_t* due_ms = nullptr);

}  // namespace qplug::mqtt
