// amqp_config.cpp -- validating the amqp driver's settings. Unknown keys and
// malformed values are INVALID naming the key (qplug::sdk::ConfigReader).
#include "amqp_config.hpp"

#include <algorithm>
#include <qplug/sdk/config.hpp>
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

std::optional<DriverConfig> parse_driver_config(const qplug_kv* kv, size_t n, qplug_status* st) {
  sdk::ConfigReader cfg(kv, n);
  DriverConfig c;
  std::string url = cfg.str("url", "amqp://guest:guest@127.0.0.1:5672/");
  std::string why;
  auto u = sdk::parse_url(url, &why);
  if (!u) {
    fail(st, QPLUG_INVALID, false, "amqp driver: key 'url' has value '%s': %s", url.c_str(), why.c_str());
    return std::nullopt;
  }
  if (u->scheme != "amqp" && u->scheme != "amqps") {
    fail(st, QPLUG_INVALID, false, "amqp driver: key 'url' has scheme '%s', expected amqp:// or amqps://",
         u->scheme.c_str());
    return std::nullopt;
  }
  c.tls = u->scheme == "amqps";
  c.host = u->host;
  c.port = u->port != 0 ? u->port : (c.tls ? 5671 : 5672);
  if (!u->user.empty()) c.user = u->user;
  if (!u->user.empty() || !u->password.empty()) c.password = u->password;
  // amqp://host/ and amqp://host mean the default vhost "/"; amqp://host/%2f too.
  if (!u->path.empty()) c.vhost = u->path;
  c.vhost = cfg.str("vhost", c.vhost);
  c.connection_name = cfg.str("connection_name", c.connection_name);
  c.heartbeat_s = static_cast<int>(cfg.duration_ms("heartbeat", c.heartbeat_s * 1000) / 1000);
  c.connection_timeout_ms = cfg.duration_ms("connection_timeout", c.connection_timeout_ms);
  c.reconnect_delay_ms = cfg.duration_ms("reconnect_delay", c.reconnect_delay_ms);
  c.reconnect_max_delay_ms = cfg.duration_ms("reconnect_max_delay", c.reconnect_max_delay_ms);
  c.prefetch_count = static_cast<uint16_t>(cfg.integer("prefetch_count", c.prefetch_count, 0, 65535));
  c.default_message_ttl_ms = cfg.duration_ms("default_message_ttl", c.default_message_ttl_ms);
  c.publish_timeout_ms = cfg.duration_ms("publish_timeout", c.publish_timeout_ms);
  c.confirm_window = static_cast<uint32_t>(cfg.integer("confirm_window", c.confirm_window, 1, 1000000));
  c.tls_ca_file = cfg.str("tls.ca_file", "");
  c.tls_cert_file = cfg.str("tls.cert_file", "");
  c.tls_key_file = cfg.str("tls.key_file", "");
  c.tls_verify_peer = cfg.boolean("tls.verify_peer", true);
  c.tls_verify_hostname = cfg.boolean("tls.verify_hostname", true);
  if (!cfg.finish(st, "amqp driver")) return std::nullopt;
  if (c.connection_timeout_ms <= 0) {
    fail(st, QPLUG_INVALID, false, "amqp driver: key 'connection_timeout' must be > 0");
    return std::nullopt;
  }
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
