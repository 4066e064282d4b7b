// tests/support/driver_yaml.cpp -- see driver_yaml.hpp.
#include "driver_yaml.hpp"

namespace qplug::testing {

std::string driver_name(const Broker& b) {
  if (b.name == kRabbitmq.name) return "amqp";
  if (b.name == kMosquitto.name) return "mqtt";
  return std::string(b.name);
}

std::string driver_yaml(const Broker& b, const std::string& url, const std::string& unique,
                        const std::string& extra_settings) {
  std::string yaml = "  - {kind: queue.driver." + driver_name(b) + ", name: broker, url: '" + url + "'";
  if (b.name == kRedis.name) yaml += ", key_prefix: '" + unique + "-'";
  if (!extra_settings.empty()) yaml += ", " + extra_settings;
  return yaml + "}\n";
}

}  // namespace qplug::testing
