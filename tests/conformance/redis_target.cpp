// tests/conformance/redis_target.cpp -- runs the conformance suite against
// the Redis streams driver and a real redis-server (tools/scripts/brokers.sh
// start redis; QPLUG_TEST_REDIS_URL, default redis://127.0.0.1:6390/0).
#include "conformance.hpp"

#include <qplug/sdk/url.hpp>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#ifndef QPLUG_SOURCE_DIR
#error "QPLUG_SOURCE_DIR must point at the source tree (for tools/scripts/brokers.sh)"
#endif

namespace qplug::conformance {

namespace {
std::string redis_url() {
  const char* env = std::getenv("QPLUG_TEST_REDIS_URL");
  return env != nullptr && *env != '\0' ? env : "redis://127.0.0.1:6390/0";
}

// Empty when a TCP connection to the URL's host:port succeeds.
std::string check_reachable(const std::string& url) {
  std::string why;
  auto u = sdk::parse_url(url, &why);
  if (!u) return "QPLUG_TEST_REDIS_URL '" + url + "' is malformed: " + why;
  std::string where = "redis-server at " + u->host + ":" + std::to_string(u->port == 0 ? 6379 : u->port);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string port = std::to_string(u->port == 0 ? 6379 : u->port);
  if (getaddrinfo(u->host.c_str(), port.c_str(), &hints, &res) != 0) return where + ": cannot resolve host";
  bool ok = false;
  for (addrinfo* a = res; a != nullptr && !ok; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd < 0) continue;
    ok = ::connect(fd, a->ai_addr, a->ai_addrlen) == 0;
    ::close(fd);
  }
  freeaddrinfo(res);
  return ok ? std::string{} : where + " is not reachable (start it with tools/scripts/brokers.sh start redis)";
}

std::string brokers_script() {
  const char* env = std::getenv("QPLUG_BROKERS_SCRIPT");
  return env != nullptr && *env != '\0' ? env : std::string(QPLUG_SOURCE_DIR) + "/tools/scripts/brokers.sh";
}
}  // namespace

Target make_target() {
  Target t;
  t.driver = "redis";
  std::string url = redis_url();
  // Short reclaim/poll times keep redelivery tests fast; a dead consumer's
  // entries are swept after claim_idle.
  t.config = {{"url", url}, {"claim_idle", "2s"}, {"block", "200ms"}, {"publish_timeout", "10s"},
              {"reconnect.max", "1s"}};
  t.broker_check = [url] { return check_reachable(url); };
  t.restart_broker = [] { return std::system((brokers_script() + " restart redis >/dev/null 2>&1").c_str()) == 0; };
  t.quiet_ms = 300;
  return t;
}

}  // namespace qplug::conformance
