// tests/integration/netfault/redis_target.cpp -- the network-fault suite on
// the redis driver (real redis-server behind the fault proxy).
#include "netfault_target.hpp"

namespace qplug::netfault {

Target make_target() {
  using namespace std::chrono_literals;
  Target t;
  t.driver = "redis";
  t.broker = &qplug::testing::kRedis;
  t.settings = [](const std::string& unique) {
    return ", heartbeat: 2s, publish_timeout: 3s, connect_timeout: 2s, reconnect.max_delay: 1s, block: 200ms, "
           "claim_idle: 5s, key_prefix: '" +
           unique + "-'";
  };
  t.heartbeat = 2s;
  t.publish_timeout = 3s;
  return t;
}

}  // namespace qplug::netfault
