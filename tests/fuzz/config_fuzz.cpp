// Fuzzes parse_config: any bytes must yield a Config or an INVALID error that
// names the file, never a crash, hang or other error kind.
#include <cstdint>
#include <qplug/config.hpp>
#include <string_view>

#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  qplug::Result<qplug::Config> r = qplug::parse_config(text, "fuzz.yaml");
  if (!r.ok()) {
    FUZZ_CHECK(r.status().kind() == qplug::ErrorKind::INVALID);
    FUZZ_CHECK(r.status().message().rfind("fuzz.yaml", 0) == 0);
    return 0;
  }
  // Everything a loaded config refers to exists.
  const qplug::Config& c = r.value();
  for (const auto& q : c.queues) FUZZ_CHECK(c.find_driver(q.driver) != nullptr);
  for (const auto& consumer : c.consumers) FUZZ_CHECK(c.find_queue(consumer.queue) != nullptr);
  return 0;
}
