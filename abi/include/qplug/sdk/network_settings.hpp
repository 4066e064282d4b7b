// qplug/sdk/network_settings.hpp -- the settings every network driver shares
// (docs/configuration.md, "Common driver settings"), read once here so the
// same key means the same thing on redis, amqp and mqtt:
//
//   url, connect_timeout, publish_timeout, reconnect.initial_delay,
//   reconnect.max_delay, heartbeat, client_name,
//   tls.enabled, tls.ca_file, tls.cert_file, tls.key_file, tls.verify_peer,
//   tls.server_name
//
// A driver says which of them it honours (NetworkKeys flags); a key it does
// not honour is INVALID naming the key and the driver ("redis driver:
// 'tls.enabled' is not supported"), never silently ignored. The old,
// per-driver spellings are accepted as deprecated aliases: the table of them
// (kKeyAliases) lives here and nowhere else.
//
// Usage in open():
//   sdk::ConfigReader cfg(items, count);
//   sdk::NetworkSettings defaults;            // then adjust the driver's defaults
//   defaults.url = "redis://127.0.0.1:6379/0";
//   sdk::NetworkSettings net = sdk::read_network_settings(cfg, "redis", sdk::kNetNoTls, defaults);
//   ... driver-specific keys ...
//   if (!cfg.finish(st, "redis driver")) return nullptr;
//   cfg.log_warnings(host, "redis");
#pragma once

#include <cstdint>
#include <initializer_list>
#include <qplug/sdk/backoff.hpp>
#include <qplug/sdk/config.hpp>
#include <string>
#include <string_view>

namespace qplug::sdk {

// Which common keys a driver honours.
enum NetworkKeys : unsigned {
  kNetUrl = 1u << 0,
  kNetConnectTimeout = 1u << 1,
  kNetPublishTimeout = 1u << 2,
  kNetReconnect = 1u << 3,  // reconnect.initial_delay, reconnect.max_delay
  kNetHeartbeat = 1u << 4,
  kNetClientName = 1u << 5,
  kNetTls = 1u << 6,            // tls.enabled, ca_file, cert_file, key_file, verify_peer
  kNetTlsServerName = 1u << 7,  // tls.server_name (SNI / name checked, when it differs from the URL's host)
  kNetNoTls = kNetUrl | kNetConnectTimeout | kNetPublishTimeout | kNetReconnect | kNetHeartbeat | kNetClientName,
  kNetAll = kNetNoTls | kNetTls | kNetTlsServerName,
};

struct TlsSettings {
  bool enabled = false;
  std::string ca_file;    // PEM bundle that verifies the server ("" = system default)
  std::string cert_file;  // client certificate (PEM), with key_file
  std::string key_file;
  bool verify_peer = true;
  std::string server_name;  // "" = the URL's host
  // What the user wrote, for resolve_tls(): tls.enabled given at all, and
  // the first other tls.* key given ("" = none).
  bool enabled_given = false;
  std::string first_key;
};

struct NetworkSettings {
  std::string url;
  int64_t connect_timeout_ms = 5000;  // TCP connect + handshake
  int64_t publish_timeout_ms = 5000;  // how long a publish may wait for the broker
  int64_t reconnect_initial_delay_ms = 100;
  int64_t reconnect_max_delay_ms = 10000;
  int64_t heartbeat_ms = 0;  // 0 = off
  std::string client_name;   // "" = the driver's default / none
  TlsSettings tls;

  // The reconnect schedule these settings describe (exponential, jittered).
  Backoff backoff() const { return Backoff(reconnect_initial_delay_ms, reconnect_max_delay_ms); }
};

// Deprecated spellings, per driver: {driver, old key, current key}. Each
// still works and draws one warning line ("'reconnect.initial' is
// deprecated, use 'reconnect.initial_delay'").
struct KeyAlias {
  std::string_view driver;
  std::string_view old_key;
  std::string_view new_key;
};
inline constexpr KeyAlias kKeyAliases[] = {
    {"redis", "reconnect.initial", "reconnect.initial_delay"}, {"redis", "reconnect.max", "reconnect.max_delay"},
    {"amqp", "reconnect_delay", "reconnect.initial_delay"},    {"amqp", "reconnect_max_delay", "reconnect.max_delay"},
    {"amqp", "connection_timeout", "connect_timeout"},         {"amqp", "connection_name", "client_name"},
    {"memory", "publish_timeout_ms", "publish_timeout"},
};

// Applies `driver`'s aliases to `cfg` (also for a queue's options block).
inline void apply_key_aliases(ConfigReader& cfg, std::string_view driver) {
  for (const KeyAlias& a : kKeyAliases) {
    if (a.driver == driver) cfg.alias(a.old_key, a.new_key);
  }
}

namespace network_detail {
struct CommonKey {
  std::string_view key;
  unsigned flag;
};
inline constexpr CommonKey kCommonKeys[] = {
    {"url", kNetUrl},
    {"connect_timeout", kNetConnectTimeout},
    {"publish_timeout", kNetPublishTimeout},
    {"reconnect.initial_delay", kNetReconnect},
    {"reconnect.max_delay", kNetReconnect},
    {"heartbeat", kNetHeartbeat},
    {"client_name", kNetClientName},
    {"tls.enabled", kNetTls},
    {"tls.ca_file", kNetTls},
    {"tls.cert_file", kNetTls},
    {"tls.key_file", kNetTls},
    {"tls.verify_peer", kNetTls},
    {"tls.server_name", kNetTlsServerName},
};
inline std::string ms_text(int64_t ms) { return std::to_string(ms) + "ms"; }
}  // namespace network_detail

// Reads the common keys `supported` names from `cfg`, starting from the
// driver's `defaults`; applies `driver`'s aliases first and refuses the
// common keys it does not honour. Errors are kept in `cfg`: the driver's
// cfg.finish() reports them. Checks that hold for every driver:
// connect_timeout > 0, reconnect.initial_delay > 0, reconnect.max_delay >=
// reconnect.initial_delay, client_name not empty, tls.cert_file and
// tls.key_file given together.
inline NetworkSettings read_network_settings(ConfigReader& cfg, std::string_view driver, unsigned supported,
                                             NetworkSettings defaults) {
  using network_detail::ms_text;
  apply_key_aliases(cfg, driver);
  // `tls.enabled: false` is honoured by every driver (no TLS), so a portable
  // block may say it; any other TLS key, or true, is refused.
  for (const network_detail::CommonKey& k : network_detail::kCommonKeys) {
    if ((supported & k.flag) != 0) continue;
    if (k.key == "tls.enabled" && cfg.has(k.key) && !cfg.boolean(k.key, true)) continue;
    cfg.reject(k.key, '\'' + std::string(k.key) + "' is not supported");
  }
  NetworkSettings n = std::move(defaults);
  if (supported & kNetUrl) n.url = cfg.str("url", n.url);
  if (supported & kNetConnectTimeout) {
    n.connect_timeout_ms = cfg.duration_ms("connect_timeout", n.connect_timeout_ms);
    if (n.connect_timeout_ms <= 0) cfg.fail_once("'connect_timeout' must be > 0");
  }
  if (supported & kNetPublishTimeout) n.publish_timeout_ms = cfg.duration_ms("publish_timeout", n.publish_timeout_ms);
  if (supported & kNetReconnect) {
    const bool max_given = cfg.has("reconnect.max_delay");
    n.reconnect_initial_delay_ms = cfg.duration_ms("reconnect.initial_delay", n.reconnect_initial_delay_ms);
    n.reconnect_max_delay_ms = cfg.duration_ms("reconnect.max_delay", n.reconnect_max_delay_ms);
    if (n.reconnect_initial_delay_ms <= 0) cfg.fail_once("'reconnect.initial_delay' must be > 0");
    if (n.reconnect_max_delay_ms < n.reconnect_initial_delay_ms) {
      // Only the user's own contradiction is an error; a raised initial
      // delay lifts the default ceiling with it.
      if (max_given) {
        cfg.fail_once("'reconnect.max_delay' (" + ms_text(n.reconnect_max_delay_ms) +
                      ") is below 'reconnect.initial_delay' (" + ms_text(n.reconnect_initial_delay_ms) + ")");
      } else {
        n.reconnect_max_delay_ms = n.reconnect_initial_delay_ms;
      }
    }
  }
  if (supported & kNetHeartbeat) n.heartbeat_ms = cfg.duration_ms("heartbeat", n.heartbeat_ms);
  if (supported & kNetClientName) {
    const bool given = cfg.has("client_name");
    n.client_name = cfg.str("client_name", n.client_name);
    if (given && n.client_name.empty()) cfg.fail_once("'client_name' must not be empty");
  }
  if (supported & kNetTls) {
    n.tls.enabled_given = cfg.has("tls.enabled");
    for (std::string_view k : {"tls.ca_file", "tls.cert_file", "tls.key_file", "tls.verify_peer", "tls.server_name"}) {
      if (n.tls.first_key.empty() && cfg.has(k)) n.tls.first_key = std::string(k);
    }
    n.tls.enabled = cfg.boolean("tls.enabled", n.tls.enabled);
    n.tls.ca_file = cfg.str("tls.ca_file", n.tls.ca_file);
    n.tls.cert_file = cfg.str("tls.cert_file", n.tls.cert_file);
    n.tls.key_file = cfg.str("tls.key_file", n.tls.key_file);
    n.tls.verify_peer = cfg.boolean("tls.verify_peer", n.tls.verify_peer);
    if (n.tls.cert_file.empty() != n.tls.key_file.empty()) {
      cfg.fail_once("'tls.cert_file' and 'tls.key_file' go together: give both or neither");
    }
  }
  if (supported & kNetTlsServerName) n.tls.server_name = cfg.str("tls.server_name", n.tls.server_name);
  return n;
}

// Decides whether TLS is on, the same way on every driver: the URL's TLS
// scheme (`tls_scheme`: amqps, mqtts) turns it on, `tls.enabled: true` may
// too. Contradictions are errors, never guesses: `tls.enabled: false` with
// the TLS scheme, or another tls.* key while TLS is off (it would be
// ignored). Sets tls->enabled; false with *why (naming the key) on error.
inline bool resolve_tls(TlsSettings* tls, std::string_view scheme, std::string_view tls_scheme, std::string* why) {
  const bool by_scheme = scheme == tls_scheme;
  if (tls->enabled_given && !tls->enabled && by_scheme) {
    *why = "'tls.enabled' is false but the url is " + std::string(tls_scheme) + "://";
    return false;
  }
  tls->enabled = by_scheme || tls->enabled;
  if (!tls->enabled && !tls->first_key.empty()) {
    *why = '\'' + tls->first_key + "' is given but TLS is off (use " + std::string(tls_scheme) +
           ":// or tls.enabled: true)";
    return false;
  }
  return true;
}

}  // namespace qplug::sdk
