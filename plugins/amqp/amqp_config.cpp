// amqp_config.cpp -- validating the amqp driver's settings. Unknown keys and
// malformed values are INVALID naming the key (qplug::sdk::ConfigReader).
#include "amqp_config.hpp"

#include <algorithm>
#include <qplug/sdk/config.hpp>
#include <qplug/sdk/network_settings.hpp>
#include <qplug/sdk/status.hpp>
#include <qplug/sdk/url.hpp>
#include <string_view>

namespace qplug::amqp {

using sdk::fail;

namespace {

// queue.declare arguments qplug sets itself (its delay and dead-letter
// topology, priority), or that have a typed queue option of their own.
struct ManagedArgument {
  const char* key;
  const char* use_instead;  // nullptr: never passed through
};
constexpr ManagedArgument kManagedArguments[] = {
    {"x-dead-letter-exchange", "dead_letter_exchange / dead_letter_queue"},
    {"x-dead-letter-routing-key", "dead_letter_routing_key / dead_letter_queue"},
    {"x-max-priority", "max_priority"},
};

// `arguments.<name>` keys: each is passed through to queue.declare. Reads the
// raw kv list (ConfigReader has no prefix query) and marks each key used.
bool read_queue_arguments(const qplug_kv* kv, size_t n, sdk::ConfigReader& cfg, QueueOptions* q, qplug_status* st) {
  constexpr std::string_view kPrefix = "arguments.";
  for (size_t i = 0; i < n; ++i) {
    std::string_view key = sdk::view(kv[i].key);
    if (key.substr(0, kPrefix.size()) != kPrefix) continue;
    std::string name(key.substr(kPrefix.size()));
    std::string value = cfg.str(key, "");
    if (name.rfind("x-", 0) != 0 || name.size() < 3) {
      fail(st, QPLUG_INVALID, false, "amqp queue options: key '%.*s': RabbitMQ queue arguments start with 'x-'",
           static_cast<int>(key.size()), key.data());
      return false;
    }
    for (const ManagedArgument& m : kManagedArguments) {
      if (name == m.key) {
        fail(st, QPLUG_INVALID, false, "amqp queue options: key '%.*s' is managed by qplug; use '%s'",
             static_cast<int>(key.size()), key.data(), m.use_instead);
        return false;
      }
    }
    auto same = [&](const auto& a) { return a.first == name; };
    auto it = std::find_if(q->arguments.begin(), q->arguments.end(), same);
    if (it == q->arguments.end())
      q->arguments.emplace_back(name, value);
    else
      it->second = value;  // the last one wins, like ConfigReader
  }
  // A typed option and its raw argument both set: which one wins would be a guess.
  const std::pair<const char*, bool> typed[] = {{"x-max-length", q->max_length > 0},
                                                {"x-message-ttl", q->message_ttl_ms >= 0},
                                                {"x-expires", q->queue_expiry_ms > 0},
                                                {"x-queue-type", !q->queue_type.empty()}};
  for (const auto& [name, set] : typed) {
    if (!set) continue;
    for (auto& a : q->arguments) {
      if (a.first == name) {
        fail(st, QPLUG_INVALID, false,
             "amqp queue options: key 'arguments.%s' conflicts with the typed option that sets it; keep one", name);
        return false;
      }
    }
  }
  return true;
}

}  // namespace

// The common network keys come from sdk::read_network_settings (with the
// old amqp spellings as deprecated aliases); tls.server_name is refused:
// librabbitmq checks the certificate against the URL's host only.
std::optional<DriverConfig> parse_driver_config(const qplug_kv* kv, size_t n, qplug_status* st) {
  sdk::ConfigReader cfg(kv, n);
  DriverConfig c;
  sdk::NetworkSettings defaults;
  defaults.url = "amqp://guest:guest@127.0.0.1:5672/";
  defaults.connect_timeout_ms = c.connection_timeout_ms;
  defaults.publish_timeout_ms = c.publish_timeout_ms;
  defaults.reconnect_initial_delay_ms = c.reconnect_delay_ms;
  defaults.reconnect_max_delay_ms = c.reconnect_max_delay_ms;
  defaults.heartbeat_ms = int64_t{c.heartbeat_s} * 1000;
  defaults.client_name = c.connection_name;
  const sdk::NetworkSettings net = sdk::read_network_settings(cfg, "amqp", sdk::kNetNoTls | sdk::kNetTls, defaults);
  c.connection_timeout_ms = net.connect_timeout_ms;
  c.publish_timeout_ms = net.publish_timeout_ms;
  c.reconnect_delay_ms = net.reconnect_initial_delay_ms;
  c.reconnect_max_delay_ms = net.reconnect_max_delay_ms;
  c.connection_name = net.client_name;
  // AMQP negotiates heartbeats in whole seconds: refuse what it would round.
  if (net.heartbeat_ms % 1000 != 0) {
    cfg.fail_once("'heartbeat' is " + std::to_string(net.heartbeat_ms) +
                  "ms; AMQP heartbeats are whole seconds (e.g. 30s), 0 turns them off");
  } else if (net.heartbeat_ms / 1000 > 65535) {
    cfg.fail_once("'heartbeat' must be at most 65535s");
  }
  c.heartbeat_s = static_cast<int>(net.heartbeat_ms / 1000);
  c.tls_ca_file = net.tls.ca_file;
  c.tls_cert_file = net.tls.cert_file;
  c.tls_key_file = net.tls.key_file;
  c.tls_verify_peer = net.tls.verify_peer;
  c.vhost = cfg.str("vhost", c.vhost);
  const bool vhost_given = cfg.has("vhost");
  c.prefetch_count = static_cast<uint16_t>(cfg.integer("prefetch_count", c.prefetch_count, 0, 65535));
  c.default_message_ttl_ms = cfg.duration_ms("default_message_ttl", c.default_message_ttl_ms);
  c.confirm_window = static_cast<uint32_t>(cfg.integer("confirm_window", c.confirm_window, 1, 1000000));
  const bool verify_hostname_given = cfg.has("tls.verify_hostname");
  c.tls_verify_hostname = cfg.boolean("tls.verify_hostname", true);
  if (!cfg.finish(st, "amqp driver")) return std::nullopt;
  c.warnings = cfg.warnings();

  std::string why;
  auto u = sdk::parse_url(net.url, &why);
  if (!u) {
    fail(st, QPLUG_INVALID, false, "amqp driver: key 'url' has value '%s': %s", net.url.c_str(), why.c_str());
    return std::nullopt;
  }
  if (u->scheme != "amqp" && u->scheme != "amqps") {
    fail(st, QPLUG_INVALID, false, "amqp driver: key 'url' has scheme '%s', expected amqp:// or amqps://",
         u->scheme.c_str());
    return std::nullopt;
  }
  // TLS: the SDK's one rule (amqps:// or tls.enabled turns it on; no
  // contradiction, no tls.* key while it is off), plus amqp's own key.
  sdk::TlsSettings tls = net.tls;
  if (tls.first_key.empty() && verify_hostname_given) tls.first_key = "tls.verify_hostname";
  if (!sdk::resolve_tls(&tls, u->scheme, "amqps", &why)) {
    fail(st, QPLUG_INVALID, false, "amqp driver: %s", why.c_str());
    return std::nullopt;
  }
  c.tls = tls.enabled;
  c.host = u->host;
  c.port = u->port != 0 ? u->port : (c.tls ? 5671 : 5672);
  if (!u->user.empty()) c.user = u->user;
  if (!u->user.empty() || !u->password.empty()) c.password = u->password;
  // amqp://host/ and amqp://host mean the default vhost "/"; amqp://host/%2f too.
  if (!u->path.empty() && !vhost_given) c.vhost = u->path;
  return c;
}

std::optional<QueueOptions> parse_queue_options(const qplug_kv* kv, size_t n, qplug_status* st) {
  sdk::ConfigReader cfg(kv, n);
  QueueOptions q;
  q.durable = cfg.boolean("durable", q.durable);
  q.auto_delete = cfg.boolean("auto_delete", q.auto_delete);
  q.exclusive = cfg.boolean("exclusive", q.exclusive);
  q.persistent = cfg.boolean("persistent", q.durable);
  q.max_length = cfg.integer("max_length", q.max_length, 1);
  q.message_ttl_ms = cfg.duration_ms("message_ttl", q.message_ttl_ms);
  q.queue_expiry_ms = cfg.duration_ms("queue_expiry", q.queue_expiry_ms);
  q.max_priority = cfg.integer("max_priority", q.max_priority, 1, 255);
  q.queue_type = cfg.str("queue_type", "");
  q.dead_letter_exchange = cfg.str("dead_letter_exchange", "");
  q.dead_letter_routing_key = cfg.str("dead_letter_routing_key", "");
  q.dead_letter_queue = cfg.str("dead_letter_queue", "");
  if (!read_queue_arguments(kv, n, cfg, &q, st)) return std::nullopt;
  if (!cfg.finish(st, "amqp queue options")) return std::nullopt;
  if (!q.queue_type.empty() && q.queue_type != "classic" && q.queue_type != "quorum") {
    fail(st, QPLUG_INVALID, false, "amqp queue options: key 'queue_type' has value '%s', expected classic or quorum",
         q.queue_type.c_str());
    return std::nullopt;
  }
  // A dead-letter queue without an exchange goes through the default
  // exchange with the DLQ's name as routing key.
  if (!q.dead_letter_queue.empty() && q.dead_letter_routing_key.empty())
    q.dead_letter_routing_key = q.dead_letter_queue;
  return q;
}

std::optional<ConsumerOptions> parse_consumer_options(const qplug_kv* kv, size_t n, qplug_status* st) {
  sdk::ConfigReader cfg(kv, n);
  ConsumerOptions c;
  c.consumer_tag = cfg.str("consumer_tag", "");
  c.exclusive = cfg.boolean("exclusive", false);
  if (!cfg.finish(st, "amqp consumer options")) return std::nullopt;
  return c;
}

}  // namespace qplug::amqp
