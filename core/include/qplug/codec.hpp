// qplug/codec.hpp -- payload codecs: "json" (content type application/json,
// the json/plain default: strings that are not JSON documents travel as
// text/plain) and "msgpack" (application/msgpack).
#pragma once

#include <qplug/status.hpp>
#include <qplug/value.hpp>
#include <string>
#include <string_view>

namespace qplug {

class Codec {
 public:
  virtual ~Codec() = default;
  virtual std::string_view name() const = 0;          // "json", "msgpack"
  virtual std::string_view content_type() const = 0;  // "application/json", ...
  // Appends the encoding of `v` to *out. INVALID for NaN/inf (JSON), too deep.
  virtual Status encode(const Value& v, std::string* out) const = 0;
  // Decodes a body; content_type is the one carried by the message (json
  // accepts text/plain bodies as a plain string Value).
  virtual Result<Value> decode(std::string_view body, std::string_view content_type) const = 0;
};

// Maximum nesting depth of arrays/maps both codecs accept (encode and decode).
inline constexpr int kMaxValueDepth = 64;

// "json", "json/plain", "application/json" -> JSON codec; "msgpack",
// "application/msgpack" -> msgpack codec; anything else: nullptr.
const Codec* find_codec(std::string_view name);

}  // namespace qplug
