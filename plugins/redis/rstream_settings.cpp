// rstream_settings.cpp -- validating the Redis driver's configuration.
#include "rstream_settings.hpp"

#include <unistd.h>

#include <climits>
#include <qplug/sdk/config.hpp>
#include <qplug/sdk/network_settings.hpp>
#include <qplug/sdk/status.hpp>
#include <qplug/sdk/url.hpp>

namespace qplug::rstream {

namespace {
std::string local_host_name() {
  char buf[HOST_NAME_MAX + 1] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "qplug";
  return buf;
}

bool parse_redis_url(const std::string& text, Endpoint* ep, qplug_status* st) {
  std::string why;
  auto url = sdk::parse_url(text, &why);
  if (!url) {
    sdk::fail(st, QPLUG_INVALID, false, "redis driver: key 'url' has value '%s': %s", text.c_str(), why.c_str());
    return false;
  }
  if (url->scheme != "redis") {
    sdk::fail(st, QPLUG_INVALID, false, "redis driver: key 'url': scheme '%s' is not supported (use redis://)",
              url->scheme.c_str());
    return false;
  }
  ep->host = url->host;
  ep->port = url->port == 0 ? 6379 : url->port;
  ep->user = url->user;
  ep->password = url->password;
  if (!url->path.empty()) {
    if (url->path.find_first_not_of("0123456789") != std::string::npos || url->path.size() > 4) {
      sdk::fail(st, QPLUG_INVALID, false, "redis driver: key 'url': database '%s' is not a number", url->path.c_str());
      return false;
    }
    ep->db = std::stoi(url->path);
  }
  return true;
}
}  // namespace

bool parse_driver_settings(const qplug_kv* items, size_t count, DriverSettings* out, qplug_status* st) {
  sdk::ConfigReader cfg(items, count);
  DriverSettings s;
  // The common network keys (docs/configuration.md); no TLS in this driver.
  sdk::NetworkSettings defaults;
  defaults.url = "redis://127.0.0.1:6379/0";
  defaults.connect_timeout_ms = s.endpoint.connect_timeout_ms;
  defaults.publish_timeout_ms = s.publish_timeout_ms;
  defaults.reconnect_initial_delay_ms = s.reconnect_initial_ms;
  defaults.reconnect_max_delay_ms = s.reconnect_max_ms;
  defaults.heartbeat_ms = s.heartbeat_ms;
  const sdk::NetworkSettings net = sdk::read_network_settings(cfg, "redis", sdk::kNetNoTls, defaults);
  s.endpoint.connect_timeout_ms = net.connect_timeout_ms;
  s.endpoint.client_name = net.client_name;
  s.publish_timeout_ms = net.publish_timeout_ms;
  s.reconnect_initial_ms = net.reconnect_initial_delay_ms;
  s.reconnect_max_ms = net.reconnect_max_delay_ms;
  s.heartbeat_ms = net.heartbeat_ms;
  // CLIENT SETNAME takes one word.
  if (s.endpoint.client_name.find_first_of(" \t\r\n") != std::string::npos) {
    cfg.fail_once("'client_name' must not contain spaces (Redis CLIENT SETNAME takes one word)");
  }
  s.endpoint.command_timeout_ms = cfg.duration_ms("command_timeout", s.endpoint.command_timeout_ms);
  s.claim_idle_ms = cfg.duration_ms("claim_idle", s.claim_idle_ms);
  s.block_ms = cfg.duration_ms("block", s.block_ms);
  s.maxlen = cfg.integer("maxlen", 0, 0);
  s.max_pending = cfg.integer("max_pending", s.max_pending, 1);
  s.key_prefix = cfg.str("key_prefix", "");
  s.consumer_prefix = cfg.str("consumer_prefix", local_host_name());
  if (!cfg.finish(st, "redis driver")) return false;
  s.warnings = cfg.warnings();
  if (!parse_redis_url(net.url, &s.endpoint, st)) return false;
  if (s.endpoint.command_timeout_ms <= 0 || s.block_ms <= 0) {
    sdk::fail(st, QPLUG_INVALID, false, "redis driver: command_timeout and block must be > 0");
    return false;
  }
  if (s.claim_idle_ms <= 0) {
    sdk::fail(st, QPLUG_INVALID, false, "redis driver: key 'claim_idle' must be > 0");
    return false;
  }
  *out = std::move(s);
  return true;
}

bool parse_queue_settings(const qplug_kv* items, size_t count, const DriverSettings& drv, QueueSettings* out,
                          qplug_status* st) {
  sdk::ConfigReader cfg(items, count);
  QueueSettings q;
  q.group = cfg.str("group", "");
  q.maxlen = cfg.integer("maxlen", drv.maxlen, 0);
  if (!cfg.finish(st, "redis queue options")) return false;
  *out = std::move(q);
  return true;
}

bool parse_consumer_settings(const qplug_kv* items, size_t count, const DriverSettings& drv, ConsumerSettings* out,
                             qplug_status* st) {
  sdk::ConfigReader cfg(items, count);
  ConsumerSettings c;
  c.claim_idle_ms = cfg.duration_ms("claim_idle", drv.claim_idle_ms);
  c.block_ms = cfg.duration_ms("block", drv.block_ms);
  if (!cfg.finish(st, "redis consumer options")) return false;
  if (c.claim_idle_ms <= 0 || c.block_ms <= 0) {
    sdk::fail(st, QPLUG_INVALID, false, "redis consumer options: claim_idle and block must be > 0");
    return false;
  }
  *out = c;
  return true;
}

}  // namespace qplug::rstream
