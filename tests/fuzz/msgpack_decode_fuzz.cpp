// Fuzzes the msgpack codec's decode; whatever decodes must re-encode and decode
// to the same Value.
#include <cmath>
#include <cstdint>
#include <qplug/codec.hpp>
#include <string_view>

#include "fuzz_check.hpp"

namespace {

// NaN != NaN, so compare NaN-free values only.
bool fuzz_has_nan(const qplug::Value& v) {
  if (v.is_double()) return std::isnan(v.as_double());
  if (v.is_array()) {
    for (const auto& e : v.as_array()) {
      if (fuzz_has_nan(e)) return true;
    }
  }
  if (v.is_map()) {
    for (const auto& [k, e] : v.as_map()) {
      if (fuzz_has_nan(e)) return true;
    }
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const qplug::Codec* mp = qplug::find_codec("msgpack");
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  qplug::Result<qplug::Value> r = mp->decode(body, "application/msgpack");
  if (!r.ok()) {
    FUZZ_CHECK(r.status().kind() == qplug::ErrorKind::INVALID);
    return 0;
  }
  std::string again;
  FUZZ_CHECK(mp->encode(r.value(), &again).ok());
  qplug::Result<qplug::Value> back = mp->decode(again, "application/msgpack");
  FUZZ_CHECK(back.ok());
  if (!fuzz_has_nan(r.value())) FUZZ_CHECK(back.value() == r.value());
  return 0;
}
