// qplug/sdk/url.hpp -- parse broker URLs of the form
//   scheme://[user[:password]@]host[:port][/path]
// shared by the network drivers (redis://, amqp://, amqps://, mqtt://).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace qplug::sdk {

struct Url {
  std::string scheme;
  std::string user;
  std::string password;
  std::string host;
  int port = 0;      // 0 when absent
  std::string path;  // without the leading '/', percent-decoded
};

inline std::string percent_decode(std::string_view in) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size()) {
      int hi = hex(in[i + 1]), lo = hex(in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(in[i]);
  }
  return out;
}

// Returns nullopt and an explanation in *why for malformed input.
inline std::optional<Url> parse_url(std::string_view text, std::string* why) {
  Url u;
  size_t sep = text.find("://");
  if (sep == std::string_view::npos || sep == 0) {
    if (why) *why = "missing scheme (expected scheme://host[:port])";
    return std::nullopt;
  }
  u.scheme = std::string(text.substr(0, sep));
  std::string_view rest = text.substr(sep + 3);
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) u.path = percent_decode(rest.substr(slash + 1));
  size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view cred = authority.substr(0, at);
    authority = authority.substr(at + 1);
    size_t colon = cred.find(':');
    u.user = percent_decode(cred.substr(0, colon));
    if (colon != std::string_view::npos) u.password = percent_decode(cred.substr(colon + 1));
  }
  std::string_view hostport = authority;
  if (!hostport.empty() && hostport.front() == '[') {  // [ipv6]:port
    size_t close = hostport.find(']');
    if (close == std::string_view::npos) {
      if (why) *why = "unterminated IPv6 address";
      return std::nullopt;
    }
    u.host = std::string(hostport.substr(1, close - 1));
    hostport = hostport.substr(close + 1);
    if (!hostport.empty() && hostport.front() != ':') {
      if (why) *why = "junk after IPv6 address";
      return std::nullopt;
    }
  } else {
    size_t colon = hostport.find(':');
    u.host = std::string(hostport.substr(0, colon));
    hostport = colon == std::string_view::npos ? std::string_view{} : hostport.substr(colon);
  }
  if (!hostport.empty()) {  // ":port"
    std::string_view p = hostport.substr(1);
    if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string_view::npos) {
      if (why) *why = "bad port '" + std::string(p) + "'";
      return std::nullopt;
    }
    u.port = std::stoi(std::string(p));
    if (u.port < 1 || u.port > 65535) {
      if (why) *why = "port out of range";
      return std::nullopt;
    }
  }
  if (u.host.empty()) {
    if (why) *why = "missing host";
    return std::nullopt;
  }
  return u;
}

}  // namespace qplug::sdk
