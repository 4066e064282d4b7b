// tests/support/driver_yaml.hpp -- the `queue.driver.*` entry the
// multi-process tests (scaleout, chaos) write into their YAML configs for a
// broker of broker_env.hpp, with names no other run uses.
#pragma once

#include <string>

#include "broker_env.hpp"

namespace qplug::testing {

// One YAML list item "  - {kind: queue.driver.<driver>, name: broker, url:
// '<url>', ...}\n" for `b` (redis gets key_prefix '<unique>-'), plus
// `extra_settings` ("key: value, key: value") when given.
std::string driver_yaml(const Broker& b, const std::string& url, const std::string& unique,
                        const std::string& extra_settings = "");

// The driver name of `b` in `kind: queue.driver.<name>`: redis, amqp, mqtt.
std::string driver_name(const Broker& b);

}  // namespace qplug::testing
