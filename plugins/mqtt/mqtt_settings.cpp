// mqtt_settings.cpp -- reads the driver block with the SDK's ConfigReader:
// the common network keys through sdk::read_network_settings (one vocabulary
// with redis and amqp, docs/configuration.md), then MQTT's own keys.
#include "mqtt_settings.hpp"

#include <qplug/sdk/config.hpp>
#include <qplug/sdk/network_settings.hpp>
#include <qplug/sdk/status.hpp>
#include <qplug/sdk/url.hpp>

namespace qplug::mqtt {
namespace {
constexpr int64_t kMaxSessionExpiryS = 0xFFFFFFFE;  // 0xFFFFFFFF means "never expires" in MQTT v5
constexpr std::string_view kInternalPrefix = "qplug-internal/";

// The common network keys through the SDK's shared reader (the same names,
// defaults rules and errors as redis and amqp), then what MQTT adds: the
// URL's scheme decides TLS (sdk::resolve_tls), credentials come from the URL,
// and the keepalive is whole seconds. tls.server_name is refused:
// libmosquitto 2.0.11 checks the certificate against the URL's host only.
bool read_common(sdk::ConfigReader& cfg, Settings* s, qplug_status* st) {
  sdk::NetworkSettings defaults;
  defaults.url = "mqtt://127.0.0.1:1883";
  defaults.connect_timeout_ms = s->connect_timeout_ms;
  defaults.publish_timeout_ms = s->publish_timeout_ms;
  defaults.reconnect_initial_delay_ms = s->reconnect_initial_ms;
  defaults.reconnect_max_delay_ms = s->reconnect_max_ms;
  defaults.heartbeat_ms = int64_t{s->keepalive_s} * 1000;
  defaults.client_name = s->client_name;
  sdk::NetworkSettings net = sdk::read_network_settings(cfg, "mqtt", sdk::kNetNoTls | sdk::kNetTls, defaults);
  s->connect_timeout_ms = net.connect_timeout_ms;
  s->publish_timeout_ms = net.publish_timeout_ms;
  s->reconnect_initial_ms = net.reconnect_initial_delay_ms;
  s->reconnect_max_ms = net.reconnect_max_delay_ms;
  s->client_name = net.client_name;
  // MQTT's keepalive is whole seconds, 0 (off) or 5 .. 65535 (libmosquitto
  // refuses 1 .. 4): refuse what it would round or reject.
  const int64_t hb = net.heartbeat_ms;
  if (hb % 1000 != 0 || (hb != 0 && hb < 5000) || hb > 65535000)
    cfg.fail_once("'heartbeat' is " + std::to_string(hb) +
                  "ms; the MQTT keepalive is whole seconds, 5s .. 65535s, 0 turns it off");
  s->keepalive_s = static_cast<int>(hb / 1000);
  s->tls = net.tls;
  s->warnings = cfg.warnings();
  std::string why;
  auto u = sdk::parse_url(net.url, &why);
  if (!u)
    return sdk::fail(st, QPLUG_INVALID, false, "mqtt driver: key 'url' ('%s'): %s", net.url.c_str(), why.c_str()),
           false;
  if (u->scheme != "mqtt" && u->scheme != "mqtts")
    return sdk::fail(st, QPLUG_INVALID, false, "mqtt driver: key 'url' ('%s'): scheme must be mqtt:// or mqtts://",
                     net.url.c_str()),
           false;
  if (!u->path.empty())
    return sdk::fail(st, QPLUG_INVALID, false, "mqtt driver: key 'url' ('%s'): MQTT URLs have no path",
                     net.url.c_str()),
           false;
  if (!sdk::resolve_tls(&s->tls, u->scheme, "mqtts", &why))
    return sdk::fail(st, QPLUG_INVALID, false, "mqtt driver: %s", why.c_str()), false;
  s->host = u->host;
  s->port = u->port != 0 ? u->port : (s->tls.enabled ? 8883 : 1883);
  s->user = u->user;
  s->password = u->password;
  return true;
}
}  // namespace

bool read_settings(const qplug_kv* items, size_t count, Settings* s, qplug_status* st) {
  sdk::ConfigReader cfg(items, count);
  if (!read_common(cfg, s, st)) return false;
  s->qos = static_cast<int>(cfg.integer("qos", s->qos, 0, 2));
  bool at_most_once = cfg.boolean("at_most_once", false);
  int64_t expiry_ms = cfg.duration_ms("session_expiry", s->session_expiry_s * 1000);
  s->topic_prefix = cfg.str("topic_prefix", s->topic_prefix);
  s->client_id = cfg.str("client_id", "");
  s->receive_maximum = static_cast<int>(cfg.integer("receive_maximum", 0, 0, 65535));
  s->send_maximum = static_cast<int>(cfg.integer("send_maximum", s->send_maximum, 1, 65535));
  if (!read_spool_settings(cfg, &s->spool, st)) return false;
  if (!cfg.finish(st, "mqtt driver")) return false;
  if (s->qos == 0 && !at_most_once)
    return sdk::fail(st, QPLUG_INVALID, false,
                     "mqtt: key 'qos' is 0 (at most once: a lost connection loses messages); set at_most_once: true "
                     "to accept that"),
           false;
  if (expiry_ms < 1000 || expiry_ms / 1000 > kMaxSessionExpiryS)
    return sdk::fail(st, QPLUG_INVALID, false, "mqtt: key 'session_expiry' must be 1s .. 136y"), false;
  s->session_expiry_s = expiry_ms / 1000;
  if (s->topic_prefix.find_first_of("+#") != std::string::npos ||
      s->topic_prefix.compare(0, kInternalPrefix.size(), kInternalPrefix) == 0)
    return sdk::fail(st, QPLUG_INVALID, false,
                     "mqtt: key 'topic_prefix' ('%s') must not contain + or # nor start with qplug-internal/",
                     s->topic_prefix.c_str()),
           false;
  if (s->client_id.find_first_of("+#") != std::string::npos)
    return sdk::fail(st, QPLUG_INVALID, false, "mqtt: key 'client_id' ('%s') must not contain + or #",
                     s->client_id.c_str()),
           false;
  return true;
}

std::string share_topic(std::string_view group, std::string_view topic) {
  return "$share/" + std::string(group) + "/" + std::string(topic);
}
std::string anchor_client_id(std::string_view group, std::string_view topic) {
  return "qplug-anchor:" + std::string(group) + ":" + std::string(topic);
}
std::string queue_state_topic(std::string_view group, std::string_view topic) {
  return std::string(kInternalPrefix) + "state/" + std::string(group) + "/" + std::string(topic);
}
std::string marker_topic(std::string_view client_id) {
  return std::string(kInternalPrefix) + "marker/" + std::string(client_id);
}

}  // namespace qplug::mqtt
