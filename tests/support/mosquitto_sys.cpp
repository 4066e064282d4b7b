// tests/support/mosquitto_sys.cpp -- see mosquitto_sys.hpp.
#include "mosquitto_sys.hpp"

#include <cstdlib>
#include <qplug/sdk/url.hpp>
#include <string>

#include "broker_env.hpp"

namespace qplug::testing {

std::optional<long long> mosquitto_sys_counter(const std::string& url, const std::string& topic) {
  std::string why;
  auto u = sdk::parse_url(url, &why);
  if (!u) return std::nullopt;
  const int port = u->port == 0 ? kMosquitto.default_port : u->port;
  // -C 1: the retained value, then exit; -W 5: give up after 5 s.
  std::string out = run_command("mosquitto_sub -h '" + u->host + "' -p " + std::to_string(port) + " -t '$SYS/" + topic +
                                "' -C 1 -W 5 2>/dev/null");
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  if (out.empty()) return std::nullopt;
  char* end = nullptr;
  long long v = std::strtoll(out.c_str(), &end, 10);
  // Counters are bare numbers; broker/uptime reads "<n> seconds".
  if (end == out.c_str() || (*end != '\0' && *end != ' ')) return std::nullopt;
  return v;
}

}  // namespace qplug::testing
