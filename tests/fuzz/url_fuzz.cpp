// Fuzzes broker URL parsing: the SDK's parse_url and each network driver's
// `url` key (redis, amqp, mqtt settings readers). Invariants: a parsed URL has
// a scheme, a host and a port of 0 (absent) or 1..65535; a refused one says
// why; a driver accepts or refuses with INVALID and a message, never crashes.
#include <qplug/driver.h>

#include <cstdint>
#include <cstring>
#include <qplug/sdk/status.hpp>
#include <qplug/sdk/url.hpp>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#ifdef QPLUG_FUZZ_REDIS
#include "rstream_settings.hpp"
#endif
#ifdef QPLUG_FUZZ_AMQP
#include "amqp_config.hpp"
#endif
#ifdef QPLUG_FUZZ_MQTT
#include "mqtt_settings.hpp"
#endif

namespace {

void fuzz_check_refusal(bool accepted, const qplug_status& st) {
  if (accepted) return;
  FUZZ_CHECK(st.code == QPLUG_INVALID);
  FUZZ_CHECK(std::strlen(st.message) > 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::string why;
  const std::optional<qplug::sdk::Url> u = qplug::sdk::parse_url(text, &why);
  if (u) {
    FUZZ_CHECK(!u->scheme.empty());
    FUZZ_CHECK(!u->host.empty());
    FUZZ_CHECK(u->port == 0 || (u->port >= 1 && u->port <= 65535));
  } else {
    FUZZ_CHECK(!why.empty());
  }

  // Each driver reads the same text as its `url` key.
  const qplug_kv kv{{"url", 3}, {text.data(), text.size()}};
  [[maybe_unused]] qplug_status st = qplug::sdk::make_status();
#ifdef QPLUG_FUZZ_REDIS
  qplug::rstream::DriverSettings redis;
  fuzz_check_refusal(qplug::rstream::parse_driver_settings(&kv, 1, &redis, &st), st);
  st = qplug::sdk::make_status();
#endif
#ifdef QPLUG_FUZZ_AMQP
  fuzz_check_refusal(qplug::amqp::parse_driver_config(&kv, 1, &st).has_value(), st);
  st = qplug::sdk::make_status();
#endif
#ifdef QPLUG_FUZZ_MQTT
  // mqtt refuses qos 0 without at_most_once; the default qos is 1.
  qplug::mqtt::Settings mqtt;
  fuzz_check_refusal(qplug::mqtt::read_settings(&kv, 1, &mqtt, &st), st);
#endif
  return 0;
}
