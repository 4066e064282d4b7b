// mqtt_properties.cpp -- encoding of qplug messages as MQTT v5 properties.
#include "mqtt_properties.hpp"

#include <mqtt_protocol.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <qplug/sdk/status.hpp>
#include <qplug/sdk/validate.hpp>
#include <string>
#include <string_view>

namespace qplug::mqtt {
namespace {
constexpr const char* kIdKey = "qplug.id";
constexpr const char* kAttemptsKey = "qplug.attempts";
constexpr const char* kDueKey = "qplug.due";

std::string_view text(qplug_str s) { return s.len == 0 ? std::string_view{} : std::string_view(s.ptr, s.len); }

std::string to_hex(const uint8_t* p, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[p[i] >> 4]);
    out.push_back(kDigits[p[i] & 15]);
  }
  return out;
}

std::optional<std::string> from_hex(std::string_view s) {
  if (s.size() % 2 != 0) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < s.size(); i += 2) {
    int hi = nibble(s[i]), lo = nibble(s[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

// "<type>:<text>" for one header value.
std::string encode_value(const qplug_value& v) {
  char buf[64];
  switch (v.type) {
    case QPLUG_VALUE_BOOL:
      return v.as.boolean ? "b:1" : "b:0";
    case QPLUG_VALUE_INT64: {
      // to_chars, not snprintf: ~760 instructions per call under callgrind,
      // a twentieth of a whole publish (bench/mqtt_bench.cpp, one per call).
      buf[0] = 'i';
      buf[1] = ':';
      const auto r = std::to_chars(buf + 2, buf + sizeof buf, v.as.i64);
      return std::string(buf, r.ptr);
    }
    case QPLUG_VALUE_DOUBLE:
      std::snprintf(buf, sizeof buf, "d:%a", v.as.f64);
      return buf;
    case QPLUG_VALUE_STRING:
      return "s:" + std::string(text(v.as.str));
    case QPLUG_VALUE_BYTES:
      return "x:" + to_hex(v.as.bytes.ptr, v.as.bytes.len);
    default:
      return "n:";
  }
}

// The typed header for "<type>:<text>"; a value without a known prefix (from
// another MQTT client) is a STRING with its text unchanged.
sdk::OwnedHeader decode_value(std::string key, std::string_view v) {
  sdk::OwnedHeader h;
  h.key = std::move(key);
  h.type = QPLUG_VALUE_STRING;
  if (v.size() >= 2 && v[0] == 's' && v[1] == ':') {  // the common case, without the copies below
    h.data.assign(v.substr(2));
    return h;
  }
  h.data.assign(v);
  if (v.size() < 2 || v[1] != ':') return h;
  std::string rest(v.substr(2));
  char* end = nullptr;
  switch (v[0]) {
    case 'n':
      if (rest.empty()) h = {h.key, QPLUG_VALUE_NULL, 0, 0, {}};
      return h;
    case 'b':
      if (rest == "0" || rest == "1") h = {h.key, QPLUG_VALUE_BOOL, rest == "1", 0, {}};
      return h;
    case 'i': {
      errno = 0;
      long long n = std::strtoll(rest.c_str(), &end, 10);
      if (!rest.empty() && errno == 0 && *end == '\0') h = {h.key, QPLUG_VALUE_INT64, n, 0, {}};
      return h;
    }
    case 'd': {
      double d = std::strtod(rest.c_str(), &end);
      if (!rest.empty() && *end == '\0') h = {h.key, QPLUG_VALUE_DOUBLE, 0, d, {}};
      return h;
    }
    case 'x':
      if (auto bytes = from_hex(rest)) h = {h.key, QPLUG_VALUE_BYTES, 0, 0, std::move(*bytes)};
      return h;
    default:
      return h;
  }
}

bool utf8_ok(std::string_view s) { return mosquitto_validate_utf8(s.data(), static_cast<int>(s.size())) == 0; }
}  // namespace

int64_t epoch_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

int32_t encode_properties(const qplug_message& m, uint32_t prior_deliveries, size_t index, Properties* out,
                          qplug_status* st, int64_t due_ms) {
  auto add_pair = [&](const std::string& k, const std::string& v, const char* what) -> int32_t {
    if (mosquitto_property_add_string_pair(out->out(), MQTT_PROP_USER_PROPERTY, k.c_str(), v.c_str()) != 0)
      return sdk::fail(st, QPLUG_INVALID, false,
                       "mqtt: message #%zu: %s '%s' cannot be an MQTT user property (UTF-8 without NUL required)",
                       index, what, k.c_str());
    return QPLUG_OK;
  };
  std::string id(text(m.id));
  if (!id.empty())
    if (int32_t rc = add_pair(kIdKey, id, "the message id of"); rc != QPLUG_OK) return rc;
  if (prior_deliveries > 0)
    if (int32_t rc = add_pair(kAttemptsKey, std::to_string(prior_deliveries), "header"); rc != QPLUG_OK) return rc;
  if (due_ms > 0)
    if (int32_t rc = add_pair(kDueKey, std::to_string(due_ms), "header"); rc != QPLUG_OK) return rc;
  std::string content_type(text(m.content_type));
  if (!content_type.empty()) {
    if (!utf8_ok(content_type) || content_type.find('\0') != std::string::npos ||
        mosquitto_property_add_string(out->out(), MQTT_PROP_CONTENT_TYPE, content_type.c_str()) != 0)
      return sdk::fail(st, QPLUG_INVALID, false, "mqtt: message #%zu: content_type is not UTF-8 text", index);
  }
  // Response Topic and Correlation Data may appear once in a PUBLISH (a
  // second makes it malformed): further reply_to / correlation_id headers
  // travel as typed user properties like any other header.
  bool have_correlation = false, have_reply_to = false;
  int64_t expiry_ms = 0;
  for (size_t i = 0; i < m.header_count; ++i) {
    const qplug_header& h = m.headers[i];
    std::string key(text(h.key));
    if (key.compare(0, 6, "qplug.") == 0)
      return sdk::fail(st, QPLUG_INVALID, false, "mqtt: message #%zu: header key '%s' uses the reserved prefix qplug.",
                       index, key.c_str());
    const bool is_string = h.value.type == QPLUG_VALUE_STRING;
    std::string sval = is_string ? std::string(text(h.value.as.str)) : std::string();
    if (is_string && sval.find('\0') != std::string::npos)
      return sdk::fail(st, QPLUG_INVALID, false,
                       "mqtt: message #%zu: header '%s' has a NUL in its string value (MQTT strings cannot carry one; "
                       "use a bytes value)",
                       index, key.c_str());
    // Correlation Data is binary; delivery reads it back as a string only
    // when it is MQTT UTF-8 text. A string that is not (control characters)
    // travels as a typed user property, so it never comes back as bytes.
    if (key == "correlation_id" && is_string && !have_correlation && utf8_ok(sval)) {
      have_correlation = true;
      if (sval.size() > 65535 || mosquitto_property_add_binary(out->out(), MQTT_PROP_CORRELATION_DATA, sval.data(),
                                                               static_cast<uint16_t>(sval.size())) != 0)
        return sdk::fail(st, QPLUG_INVALID, false, "mqtt: message #%zu: correlation_id is longer than 65535 bytes",
                         index);
      continue;
    }
    if (key == "reply_to" && is_string && !have_reply_to) {
      have_reply_to = true;
      if (!utf8_ok(sval) || mosquitto_pub_topic_check(sval.c_str()) != 0 ||
          mosquitto_property_add_string(out->out(), MQTT_PROP_RESPONSE_TOPIC, sval.c_str()) != 0)
        return sdk::fail(st, QPLUG_INVALID, false,
                         "mqtt: message #%zu: reply_to '%s' is not an MQTT topic name (no + or #, UTF-8)", index,
                         sval.c_str());
      continue;
    }
    if (key == "ttl") {
      // validate.hpp has checked the value; whole seconds, rounded up, added
      // once after the loop (the last ttl header wins, as on amqp; a second
      // interval would make the PUBLISH malformed). The exact value travels
      // as a typed user property as well.
      expiry_ms = sdk::header_duration_ms(h.value).value_or(0);
    }
    if (int32_t rc = add_pair(key, encode_value(h.value), "header"); rc != QPLUG_OK) return rc;
  }
  if (expiry_ms > 0) {
    int64_t s = (expiry_ms + 999) / 1000;
    if (s > 0xFFFFFFFFll) s = 0xFFFFFFFFll;
    mosquitto_property_add_int32(out->out(), MQTT_PROP_MESSAGE_EXPIRY_INTERVAL, static_cast<uint32_t>(s));
  }
  return QPLUG_OK;
}

void decode_message(const mosquitto_message& msg, const mosquitto_property* props, sdk::OwnedMessage* out,
                    int64_t* due_ms) {
  *out = sdk::OwnedMessage{};
  if (due_ms != nullptr) *due_ms = 0;
  if (msg.payloadlen > 0) out->body.assign(static_cast<const char*>(msg.payload), static_cast<size_t>(msg.payloadlen));
  uint32_t prior = 0;
  char* name = nullptr;
  char* value = nullptr;
  for (const mosquitto_property* p =
           mosquitto_property_read_string_pair(props, MQTT_PROP_USER_PROPERTY, &name, &value, false);
       p != nullptr; p = mosquitto_property_read_string_pair(p, MQTT_PROP_USER_PROPERTY, &name, &value, true)) {
    std::string k(name == nullptr ? "" : name), v(value == nullptr ? "" : value);
    std::free(name);
    std::free(value);
    name = value = nullptr;
    if (k == kIdKey) {
      out->id = std::move(v);
    } else if (k == kAttemptsKey) {
      // From the wire: saturate rather than wrap (attempts = prior + 1 >= 1).
      const unsigned long long n = std::strtoull(v.c_str(), nullptr, 10);
      prior = n >= UINT32_MAX ? UINT32_MAX - 1 : static_cast<uint32_t>(n);
    } else if (k == kDueKey) {
      // From the wire: a value that is not a positive number means "due now"
      // (delivered at once rather than held for ever or dropped).
      errno = 0;
      char* end = nullptr;
      const long long due = std::strtoll(v.c_str(), &end, 10);
      if (due_ms != nullptr && errno == 0 && end != v.c_str() && *end == '\0' && due > 0) *due_ms = due;
    } else {
      out->headers.push_back(decode_value(std::move(k), v));
    }
  }
  char* s = nullptr;
  if (mosquitto_property_read_string(props, MQTT_PROP_CONTENT_TYPE, &s, false) != nullptr) {
    out->content_type = s == nullptr ? "" : s;
    std::free(s);
    s = nullptr;
  }
  if (mosquitto_property_read_string(props, MQTT_PROP_RESPONSE_TOPIC, &s, false) != nullptr) {
    out->headers.push_back({"reply_to", QPLUG_VALUE_STRING, 0, 0, s == nullptr ? "" : s});
    std::free(s);
  }
  void* data = nullptr;
  uint16_t len = 0;
  if (mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA, &data, &len, false) != nullptr) {
    std::string c(static_cast<const char*>(data), len);
    std::free(data);
    bool text_ok = utf8_ok(c) && c.find('\0') == std::string::npos;
    out->headers.push_back({"correlation_id", text_ok ? QPLUG_VALUE_STRING : QPLUG_VALUE_BYTES, 0, 0, std::move(c)});
  }
  // User properties may repeat a name, and a foreign publisher may send a
  // `reply_to` property beside the response topic: the first one is the header.
  sdk::drop_repeated_headers(&out->headers);
  out->attempts = prior + 1;
}

}  // namespace qplug::mqtt
