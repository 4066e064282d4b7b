// tests/integration/redis/redis_it.hpp -- shared bits of the Redis
// integration tests and their helper process: load the plugin through the
// loader, open a driver on QPLUG_TEST_REDIS_URL, build messages.
#pragma once

#include <qplug/driver.h>

#include <cstdlib>
#include <qplug/loader.hpp>
#include <qplug/sdk/message.hpp>
#include <qplug/sdk/status.hpp>
#include <qplug/sdk/versioned.hpp>
#include <string>
#include <utility>
#include <vector>

namespace qplug::redis_it {

inline std::string redis_url() {
  const char* env = std::getenv("QPLUG_TEST_REDIS_URL");
  return env != nullptr && *env != '\0' ? env : "redis://127.0.0.1:6390/0";
}

inline const qplug_driver_v1* load_redis(std::string* error) {
  const loader::Plugin* p = loader::load_driver("redis", loader::search_dirs(), error);
  return p == nullptr ? nullptr : p->vtable;
}

// Opens the driver with the test URL plus `extra` settings.
inline qplug_driver* open_redis(const qplug_driver_v1* vt, std::vector<std::pair<std::string, std::string>> extra,
                                qplug_status* st) {
  extra.insert(extra.begin(), {"url", redis_url()});
  std::vector<qplug_kv> kv;
  for (auto& [k, v] : extra) kv.push_back({{k.data(), k.size()}, {v.data(), v.size()}});
  return vt->open(nullptr, kv.data(), kv.size(), st);
}

inline qplug_queue* declare(const qplug_driver_v1* vt, qplug_driver* d, const std::string& name, qplug_status* st) {
  return vt->declare(d, {name.data(), name.size()}, nullptr, 0, st);
}

inline sdk::OwnedMessage message(const std::string& id, const std::string& body) {
  auto m = qplug::sdk::versioned<qplug_message>();
  m.id = {id.data(), id.size()};
  m.body = {reinterpret_cast<const uint8_t*>(body.data()), body.size()};
  return sdk::OwnedMessage(m);
}

}  // namespace qplug::redis_it
