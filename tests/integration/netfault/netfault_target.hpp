// tests/integration/netfault/netfault_target.hpp -- what the network-fault
// suite (netfault_test.cpp) needs to know about one broker driver. Each
// <driver>_target.cpp defines make_target(); CMake builds the suite once per
// driver, so the tests read `redis.NetFault.*`, `amqp.NetFault.*`, ...
#pragma once

#include <chrono>
#include <string>

#include "broker_env.hpp"

namespace qplug::netfault {

struct Target {
  std::string driver;                      // the queue.driver.<driver> kind
  const qplug::testing::Broker* broker{};  // where the real broker is
  // The driver block's settings after `url:` (a YAML flow-map fragment,
  // ", heartbeat: 2s, ..."), for a run whose names start with `unique`.
  std::string (*settings)(const std::string& unique) = nullptr;
  std::chrono::milliseconds heartbeat{0};        // the `heartbeat` the settings give
  std::chrono::milliseconds publish_timeout{0};  // the `publish_timeout` the settings give
};

Target make_target();

}  // namespace qplug::netfault
