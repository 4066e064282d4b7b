// Fuzzes the JSON codec's decode; whatever decodes must re-encode and decode to
// the same Value (types included).
#include <cstdint>
#include <qplug/codec.hpp>
#include <string_view>

#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const qplug::Codec* json = qplug::find_codec("json");
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  // The first byte picks the content type, so the text/plain path is fuzzed too.
  const std::string_view content_type = (size > 0 && data[0] == 'T') ? "text/plain" : "application/json";
  qplug::Result<qplug::Value> r = json->decode(body, content_type);
  if (!r.ok()) {
    FUZZ_CHECK(r.status().kind() == qplug::ErrorKind::INVALID);
    return 0;
  }
  std::string again;
  qplug::Status st = json->encode(r.value(), &again);
  if (content_type == "text/plain" && !st.ok()) {
    FUZZ_CHECK(st.kind() == qplug::ErrorKind::INVALID);  // not UTF-8: JSON cannot carry it
    return 0;
  }
  FUZZ_CHECK(st.ok());
  qplug::Result<qplug::Value> back = json->decode(again, "application/json");
  FUZZ_CHECK(back.ok());
  FUZZ_CHECK(back.value() == r.value());
  return 0;
}
