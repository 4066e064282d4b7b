// tests/conformance/amqp_target.cpp -- runs the conformance suite against the
// RabbitMQ driver and a real rabbitmq-server (tools/scripts/brokers.sh start
// rabbitmq; QPLUG_TEST_AMQP_URL, default amqp://guest:guest@127.0.0.1:5690/).
#include <string>

#include "broker_env.hpp"
#include "conformance.hpp"

namespace qplug::conformance {

Target make_target() {
  using qplug::testing::kRabbitmq;
  Target t;
  t.driver = "amqp";
  std::string url = qplug::testing::broker_url(kRabbitmq);
  // Test queues are throwaway: not durable, and auto-expiring so reruns
  // never find stale messages.
  t.config = {{"url", url},
              {"connection_name", "qplug-conformance"},
              {"reconnect_delay", "100ms"},
              {"reconnect_max_delay", "1s"},
              {"publish_timeout", "30s"}};
  // max_priority: the priority cases need a priority queue (RabbitMQ ignores
  // the header on others, docs/drivers/amqp.md).
  t.queue_options = {{"durable", "true"}, {"queue_expiry", "300s"}, {"max_priority", "9"}};
  t.broker_check = [url] { return qplug::testing::broker_unreachable(kRabbitmq, url); };
  t.restart_broker = [] { return qplug::testing::restart_broker(kRabbitmq); };
  t.quiet_ms = 300;
  return t;
}

}  // namespace qplug::conformance
