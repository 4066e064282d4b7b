// tests/integration/netfault/mqtt_target.cpp -- the network-fault suite on
// the mqtt driver (real mosquitto behind the fault proxy). 5 s is the
// smallest keepalive the driver takes.
#include "netfault_target.hpp"

namespace qplug::netfault {

Target make_target() {
  using namespace std::chrono_literals;
  Target t;
  t.driver = "mqtt";
  t.broker = &qplug::testing::kMosquitto;
  t.settings = [](const std::string& unique) {
    return ", heartbeat: 5s, publish_timeout: 3s, connect_timeout: 2s, reconnect.max_delay: 1s, "
           "session_expiry: 10m, client_id: '" +
           unique + "'";
  };
  t.heartbeat = 5s;
  t.publish_timeout = 3s;
  return t;
}

}  // namespace qplug::netfault
