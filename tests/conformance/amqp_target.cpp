// tests/conformance/amqp_target.cpp -- runs the conformance suite against the
// RabbitMQ driver and a real rabbitmq-server (tools/scripts/brokers.sh start
// rabbitmq; QPLUG_TEST_AMQP_URL, default amqp://guest:guest@127.0.0.1:5690/).
#include "conformance.hpp"

#include <qplug/sdk/url.hpp>

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#ifndef QPLUG_SOURCE_DIR
#error "QPLUG_SOURCE_DIR must point at the source tree (for tools/scripts/brokers.sh)"
#endif

namespace qplug::conformance {

namespace {
std::string amqp_url() {
  const char* env = std::getenv("QPLUG_TEST_AMQP_URL");
  return env != nullptr && *env != '\0' ? env : "amqp://guest:guest@127.0.0.1:5690/";
}

// Empty when a TCP connection to the URL's host:port succeeds.
std::string amqp_reachable(const std::string& url) {
  std::string why;
  auto u = sdk::parse_url(url, &why);
  if (!u) return "QPLUG_TEST_AMQP_URL '" + url + "' is malformed: " + why;
  std::string port = std::to_string(u->port == 0 ? 5672 : u->port);
  std::string where = "rabbitmq-server at " + u->host + ":" + port;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(u->host.c_str(), port.c_str(), &hints, &res) != 0) return where + ": cannot resolve host";
  bool ok = false;
  for (addrinfo* a = res; a != nullptr && !ok; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd < 0) continue;
    ok = ::connect(fd, a->ai_addr, a->ai_addrlen) == 0;
    ::close(fd);
  }
  freeaddrinfo(res);
  return ok ? std::string{} : where + " is not reachable (start it with tools/scripts/brokers.sh start rabbitmq)";
}

std::string brokers_script() {
  const char* env = std::getenv("QPLUG_BROKERS_SCRIPT");
  return env != nullptr && *env != '\0' ? env : std::string(QPLUG_SOURCE_DIR) + "/tools/scripts/brokers.sh";
}
}  // namespace

Target make_target() {
  Target t;
  t.driver = "amqp";
  std::string url = amqp_url();
  // Test queues are throwaway: not durable, and auto-expiring so reruns
  // never find stale messages.
  t.config = {{"url", url}, {"connection_name", "qplug-conformance"}, {"reconnect_delay", "100ms"},
              {"reconnect_max_delay", "1s"}, {"publish_timeout", "30s"}};
  t.queue_options = {{"durable", "true"}, {"queue_expiry", "300s"}};
  t.broker_check = [url] { return amqp_reachable(url); };
  t.restart_broker = [] { return std::system((brokers_script() + " restart rabbitmq >/dev/null 2>&1").c_str()) == 0; };
  t.quiet_ms = 300;
  return t;
}

}  // namespace qplug::conformance
