// tests/integration/netfault/amqp_target.cpp -- the network-fault suite on
// the amqp driver (real rabbitmq-server behind the fault proxy).
#include "netfault_target.hpp"

namespace qplug::netfault {

Target make_target() {
  using namespace std::chrono_literals;
  Target t;
  t.driver = "amqp";
  t.broker = &qplug::testing::kRabbitmq;
  t.settings = [](const std::string&) {
    return std::string(", heartbeat: 2s, publish_timeout: 3s, connect_timeout: 2s, reconnect.max_delay: 1s");
  };
  t.heartbeat = 2s;
  t.publish_timeout = 3s;
  return t;
}

}  // namespace qplug::netfault
