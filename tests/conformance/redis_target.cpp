// tests/conformance/redis_target.cpp -- runs the conformance suite against
// the Redis streams driver and a real redis-server (tools/scripts/brokers.sh
// start redis; QPLUG_TEST_REDIS_URL, default redis://127.0.0.1:6390/0).
#include <string>

#include "broker_env.hpp"
#include "conformance.hpp"

namespace qplug::conformance {

Target make_target() {
  using qplug::testing::kRedis;
  Target t;
  t.driver = "redis";
  std::string url = qplug::testing::broker_url(kRedis);
  // Short reclaim/poll times keep redelivery tests fast; a dead consumer's
  // entries are swept after claim_idle.
  t.config = {
      {"url", url}, {"claim_idle", "2s"}, {"block", "200ms"}, {"publish_timeout", "10s"}, {"reconnect.max", "1s"}};
  t.broker_check = [url] { return qplug::testing::broker_unreachable(kRedis, url); };
  t.restart_broker = [] { return qplug::testing::restart_broker(kRedis); };
  t.quiet_ms = 300;
  return t;
}

}  // namespace qplug::conformance
