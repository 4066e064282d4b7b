// Fuzzes ID validation and resolution: a valid ID resolves to itself, a valid
// relative name resolves into the namespace, and no input crashes.
#include <cstdint>
#include <qplug/config.hpp>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const qplug::Status valid = qplug::validate_queue_id(text);
  qplug::Result<std::string> resolved = qplug::resolve_id("ns", text);
  if (valid.ok()) {
    FUZZ_CHECK(resolved.ok());
    FUZZ_CHECK(resolved.value() == text);
  } else {
    FUZZ_CHECK(valid.kind() == qplug::ErrorKind::INVALID);
  }
  if (resolved.ok()) {
    FUZZ_CHECK(qplug::validate_queue_id(resolved.value()).ok());
    if (text.find(':') == std::string_view::npos) FUZZ_CHECK(resolved.value() == "ns:" + std::string(text));
  }
  return 0;
}
