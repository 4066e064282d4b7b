// tests/support/broker_env.cpp -- see broker_env.hpp.
#include "broker_env.hpp"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <qplug/sdk/url.hpp>

#ifndef QPLUG_SOURCE_DIR
#error "QPLUG_SOURCE_DIR must point at the source tree (for tools/scripts/brokers.sh)"
#endif

namespace qplug::testing {

namespace {
// Whether a TCP connection to host:port succeeds (any resolved address will do).
// Empty *why on success or plain refusal; the resolver's complaint otherwise.
bool tcp_connects(const std::string& host, const std::string& port, std::string* why) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0) {
    *why = "cannot resolve host";
    return false;
  }
  bool ok = false;
  for (addrinfo* a = res; a != nullptr && !ok; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd < 0) continue;
    ok = ::connect(fd, a->ai_addr, a->ai_addrlen) == 0;
    ::close(fd);
  }
  freeaddrinfo(res);
  return ok;
}
}  // namespace

std::string env_or(const char* name, std::string_view fallback) {
  const char* env = std::getenv(name);
  return env != nullptr && *env != '\0' ? std::string(env) : std::string(fallback);
}

std::string broker_url(const Broker& b) { return env_or(std::string(b.url_env).c_str(), b.default_url); }

std::string broker_unreachable(const Broker& b, const std::string& url) {
  std::string why;
  auto u = sdk::parse_url(url, &why);
  if (!u) return std::string(b.url_env) + " '" + url + "' is malformed: " + why;
  std::string port = std::to_string(u->port == 0 ? b.default_port : u->port);
  std::string where = std::string(b.server) + " at " + u->host + ":" + port;
  if (tcp_connects(u->host, port, &why)) return {};
  if (!why.empty()) return where + ": " + why;
  return where + " is not reachable (start it with tools/scripts/brokers.sh start " + std::string(b.name) + ")";
}

bool brokers_required() { return env_or("CI", "") == "true"; }

std::string brokers_script() {
  return env_or("QPLUG_BROKERS_SCRIPT", std::string(QPLUG_SOURCE_DIR) + "/tools/scripts/brokers.sh");
}

bool restart_broker(const Broker& b) {
  std::string cmd = brokers_script() + " restart " + std::string(b.name) + " >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

std::string run_command(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

std::string unique_name(std::string_view what) {
  return "qplug-it-" + std::string(what) + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
}

}  // namespace qplug::testing
