// Fuzzes the MQTT driver's delivery decoding (mqtt_properties: MQTT v5 user
// properties -> typed headers). The input drives libmosquitto's own property
// API: each record is an opcode byte and its operands (length-prefixed
// strings), adding a user property, content type, response topic,
// correlation data, payload format or expiry to the list; the rest is the
// payload. decode_message then reads the list as it does for a PUBLISH.
// Invariants: no crash or leak; attempts >= 1; a message the driver can
// publish again (encode_properties) gets a valid PUBLISH property list that
// decodes to the same message and attempts.
#include <mosquitto.h>
#include <mqtt_protocol.h>

#include <algorithm>
#include <cstdint>
#include <qplug/sdk/message.hpp>
#include <qplug/sdk/status.hpp>
#include <qplug/sdk/validate.hpp>
#include <string>

#include "fuzz_check.hpp"
#include "fuzz_message.hpp"
#include "mqtt_properties.hpp"

namespace {

class FuzzReader {
 public:
  FuzzReader(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}
  bool empty() const { return p_ == end_; }
  uint8_t byte() { return empty() ? 0 : *p_++; }
  std::string str() {
    const size_t want = byte();  // first: it moves p_
    const size_t n = std::min(want, static_cast<size_t>(end_ - p_));
    std::string s(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return s;
  }
  std::string rest() {
    std::string s(reinterpret_cast<const char*>(p_), static_cast<size_t>(end_ - p_));
    p_ = end_;
    return s;
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

void fuzz_decode(const std::string& payload, const mosquitto_property* props, qplug::sdk::OwnedMessage* out) {
  mosquitto_message msg{};
  msg.payload = const_cast<char*>(payload.data());
  msg.payloadlen = static_cast<int>(payload.size());
  qplug::mqtt::decode_message(msg, props, out);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzReader in(data, size);
  qplug::mqtt::Properties props;
  std::string payload;
  while (!in.empty()) {
    const uint8_t op = in.byte();
    if (op == 0xff) {  // the rest is the payload
      payload = in.rest();
      break;
    }
    switch (op % 6) {
      case 0: {
        const std::string k = in.str(), v = in.str();
        mosquitto_property_add_string_pair(props.out(), MQTT_PROP_USER_PROPERTY, k.c_str(), v.c_str());
        break;
      }
      case 1:
        mosquitto_property_add_string(props.out(), MQTT_PROP_CONTENT_TYPE, in.str().c_str());
        break;
      case 2:
        mosquitto_property_add_string(props.out(), MQTT_PROP_RESPONSE_TOPIC, in.str().c_str());
        break;
      case 3: {
        const std::string b = in.str();
        mosquitto_property_add_binary(props.out(), MQTT_PROP_CORRELATION_DATA, b.data(),
                                      static_cast<uint16_t>(b.size()));
        break;
      }
      case 4:
        mosquitto_property_add_byte(props.out(), MQTT_PROP_PAYLOAD_FORMAT_INDICATOR, in.byte());
        break;
      default: {
        uint32_t v = 0;
        for (int i = 0; i < 4; ++i) v = (v << 8) | in.byte();
        mosquitto_property_add_int32(props.out(), MQTT_PROP_MESSAGE_EXPIRY_INTERVAL, v);
        break;
      }
    }
  }
  qplug::sdk::OwnedMessage first;
  fuzz_decode(payload, props.get(), &first);
  FUZZ_CHECK(first.attempts >= 1);

  // Published again: what MQTT cannot carry is refused (INVALID), anything
  // else must come back unchanged.
  qplug_status st = qplug::sdk::make_status();
  const qplug_message& view = first.view();
  if (qplug::sdk::check_message(&view, 0, "fuzz", qplug::sdk::MessageLimits{}, &st) != QPLUG_OK) return 0;
  qplug::mqtt::Properties again;
  if (qplug::mqtt::encode_properties(view, first.attempts - 1, 0, &again, &st) != QPLUG_OK) {
    FUZZ_CHECK(st.code == QPLUG_INVALID);
    return 0;
  }
  // What goes on the wire is a valid PUBLISH property list (no duplicate
  // Response Topic or Correlation Data: the broker would drop the connection).
  FUZZ_CHECK(mosquitto_property_check_all(CMD_PUBLISH, again.get()) == MOSQ_ERR_SUCCESS);
  qplug::sdk::OwnedMessage second;
  fuzz_decode(payload, again.get(), &second);
  FUZZ_CHECK(qplug::fuzz::same_message(qplug::fuzz::sorted_headers(first), qplug::fuzz::sorted_headers(second)));
  FUZZ_CHECK(second.attempts == first.attempts);
  return 0;
}
