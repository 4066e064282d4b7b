// mqtt_settings.cpp -- reads the driver block with the SDK's ConfigReader.
// The common network keys are read here and nowhere else, so moving them to
// the SDK's shared reader later is a small edit of this one file.
#include "mqtt_settings.hpp"

#include <qplug/sdk/config.hpp>
#include <qplug/sdk/status.hpp>
#include <qplug/sdk/url.hpp>

namespace qplug::mqtt {
namespace {
constexpr int64_t kMaxSessionExpiryS = 0xFFFFFFFE;  // 0xFFFFFFFF means "never expires" in MQTT v5
constexpr std::string_view kInternalPrefix = "qplug-internal/";

bool read_common(sdk::ConfigReader& cfg, Settings* s, qplug_status* st) {
  std::string url = cfg.str("url", "mqtt://127.0.0.1:1883");
  std::string why;
  auto u = sdk::parse_url(url, &why);
  if (!u) return sdk::fail(st, QPLUG_INVALID, false, "mqtt: key 'url' ('%s'): %s", url.c_str(), why.c_str()), false;
  if (u->scheme == "mqtts")
    return sdk::fail(st, QPLUG_INVALID, false, "mqtt: key 'url': mqtts:// (TLS) is not supported by this version"),
           false;
  if (u->scheme != "mqtt")
    return sdk::fail(st, QPLUG_INVALID, false, "mqtt: key 'url' ('%s'): scheme must be mqtt://", url.c_str()), false;
  if (!u->path.empty())
    return sdk::fail(st, QPLUG_INVALID, false, "mqtt: key 'url' ('%s'): MQTT URLs have no path", url.c_str()), false;
  s->host = u->host;
  s->port = u->port == 0 ? 1883 : u->port;
  s->user = u->user;
  s->password = u->password;
  s->connect_timeout_ms = cfg.duration_ms("connect_timeout", s->connect_timeout_ms);
  s->publish_timeout_ms = cfg.duration_ms("publish_timeout", s->publish_timeout_ms);
  s->reconnect_initial_ms = cfg.duration_ms("reconnect.initial_delay", s->reconnect_initial_ms);
  s->reconnect_max_ms = cfg.duration_ms("reconnect.max_delay", s->reconnect_max_ms);
  int64_t heartbeat_ms = cfg.duration_ms("heartbeat", int64_t{s->keepalive_s} * 1000);
  s->client_name = cfg.str("client_name", s->client_name);
  if (heartbeat_ms < 5000 || heartbeat_ms > 65535000)
    return sdk::fail(st, QPLUG_INVALID, false, "mqtt: key 'heartbeat' must be 5s .. 65535s (MQTT keepalive)"), false;
  s->keepalive_s = static_cast<int>(heartbeat_ms / 1000);
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
