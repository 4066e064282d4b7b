// Parsers for each entry kind (see entry_parsers.hpp and docs/configuration.md).
#include "config/entry_parsers.hpp"

namespace qplug::config {
namespace {

constexpr std::string_view kDriverKindPrefix = "queue.driver.";

// Resolves a reference written in the entry's file; errors name the field.
Status resolve_ref(const EntryContext& ec, const YAML::Node& at, const std::string& field, const std::string& ref,
                   std::string* out) {
  Result<std::string> full = resolve_id(ec.file->ns, ref);
  if (!full.ok()) return ec.error(at, "'" + field + "': " + full.status().message());
  *out = std::move(full).value();
  return ok_status();
}

Status resolve_ref_list(const EntryContext& ec, const YAML::Node& at, const std::string& field,
                        std::vector<std::string>* refs) {
  for (std::string& ref : *refs) {
    Status st = resolve_ref(ec, at, field, ref, &ref);
    if (!st.ok()) return st;
  }
  return ok_status();
}

// map[key], or an undefined node when `map` is missing or not a map (yaml-cpp
// throws on most queries of a missing node, and on subscripting a scalar).
YAML::Node child(const YAML::Node& map, const char* key) {
  return map.IsDefined() && map.IsMap() ? map[key] : YAML::Node(YAML::NodeType::Undefined);
}

bool given(const YAML::Node& n) { return n.IsDefined() && !n.IsNull(); }

Status require_map(const EntryContext& ec, const YAML::Node& n, const std::string& field) {
  if (!n.IsDefined() || !n.IsMap()) return ec.error(n, "'" + field + "' must be a map");
  return ok_status();
}

// ---- shared blocks ---------------------------------------------------------

// driver_options: {<driver type>: {key: value, ...}} -> "<driver type>.key" pairs;
// the resolver keeps only the queue's driver type and strips the prefix.
Status parse_driver_options(const EntryContext& ec, const YAML::Node& entry, KeyValues* out) {
  YAML::Node n = child(entry, "driver_options");
  if (!given(n)) return ok_status();
  Status st = require_map(ec, n, "driver_options");
  if (!st.ok()) return st;
  for (auto it = n.begin(); it != n.end(); ++it) {
    if (!it->first.IsScalar() || !(it->second.IsMap() || it->second.IsNull())) {
      return ec.error(it->first, "'driver_options' maps driver types to option maps (driver_options: {amqp: {...}})");
    }
    st = flatten_node(ec, it->second, it->first.Scalar(), out);
    if (!st.ok()) return st;
  }
  return ok_status();
}

Status parse_actor(const EntryContext& ec, const YAML::Node& n, const std::string& prefix, Actor* out) {
  Status st = require_map(ec, n, prefix);
  if (st.ok()) st = check_fields(ec, n, {"id", "meta"}, prefix + ".");
  if (st.ok()) st = read_string(ec, n, "id", &out->id, true, prefix + ".id");
  if (st.ok()) st = read_string_map(ec, n, "meta", &out->meta, prefix + ".meta");
  return st;
}

Status parse_security(const EntryContext& ec, const YAML::Node& n, const std::string& prefix, SecuritySpec* out) {
  Status st = require_map(ec, n, prefix);
  if (st.ok()) st = check_fields(ec, n, {"actor", "policies"}, prefix + ".");
  if (!st.ok()) return st;
  YAML::Node actor = child(n, "actor");
  if (given(actor)) {
    out->actor.emplace();
    st = parse_actor(ec, actor, prefix + ".actor", &*out->actor);
    if (!st.ok()) return st;
  }
  st = read_string_list(ec, n, "policies", &out->policies, prefix + ".policies");
  if (st.ok()) st = resolve_ref_list(ec, child(n, "policies"), prefix + ".policies", &out->policies);
  return st;
}

// `security:` at the entry, or under `lifecycle.security` (the seed runtime's place); not both.
Status parse_entry_security(const EntryContext& ec, const YAML::Node& entry, const YAML::Node& lifecycle,
                            SecuritySpec* out) {
  YAML::Node direct = child(entry, "security");
  YAML::Node nested = child(lifecycle, "security");
  if (given(direct) && given(nested)) {
    return ec.error(nested, "give 'security' once: at the entry or under 'lifecycle', not both");
  }
  if (given(direct)) return parse_security(ec, direct, "security", out);
  if (given(nested)) return parse_security(ec, nested, "lifecycle.security", out);
  return ok_status();
}

// source/method/modules shared by function.lua, process.lua and consumers.
Status parse_lua_source(const EntryContext& ec, const YAML::Node& entry, bool required, HandlerSpec* out) {
  Status st = read_string(ec, entry, "source", &out->source, required);
  if (st.ok()) st = read_string(ec, entry, "method", &out->method, required);
  if (st.ok()) st = read_string_list(ec, entry, "modules", &out->modules);
  if (st.ok() && !out->source.empty()) out->source = resolve_path(*ec.file, out->source);
  return st;
}

// ---- one parser per kind ---------------------------------------------------

Status parse_driver(const EntryContext& ec, const YAML::Node& n, Config* out) {
  DriverEntry d;
  d.id = ec.id;
  d.where = ec.where();
  d.driver = ec.kind.substr(kDriverKindPrefix.size());
  Result<std::string> check = resolve_id("x", d.driver);  // same character set as IDs
  if (d.driver.empty() || d.driver.find(':') != std::string::npos || !check.ok()) {
    return ec.error(child(n, "kind"), "driver name '" + d.driver + "' is not a valid name");
  }
  Status st = read_string(ec, n, "plugin", &d.plugin);
  if (!st.ok()) return st;
  if (!d.plugin.empty()) d.plugin = resolve_path(*ec.file, d.plugin);
  for (auto it = n.begin(); it != n.end(); ++it) {
    const std::string key = it->first.IsScalar() ? it->first.Scalar() : "";
    if (key == "kind" || key == "name" || key == "id" || key == "plugin" || key == "meta") continue;
    if (key.empty()) return ec.error(it->first, "setting names must be plain strings");
    for (const auto& [k, v] : d.settings) {
      if (k == key) return ec.error(it->first, "duplicate setting '" + key + "'");
    }
    st = flatten_node(ec, it->second, key, &d.settings);
    if (!st.ok()) return st;
  }
  out->drivers.push_back(std::move(d));
  return ok_status();
}

Status parse_dead_letter(const EntryContext& ec, const YAML::Node& n, DeadLetterSpec* out) {
  Status st = require_map(ec, n, "dead_letter");
  if (st.ok()) st = check_fields(ec, n, {"queue", "max_attempts"}, "dead_letter.");
  if (st.ok()) st = read_string(ec, n, "queue", &out->queue, false, "dead_letter.queue");
  if (st.ok() && !out->queue.empty())
    st = resolve_ref(ec, child(n, "queue"), "dead_letter.queue", out->queue, &out->queue);
  int64_t attempts = out->max_attempts;
  if (st.ok()) st = read_int(ec, n, "max_attempts", 0, 1000000, &attempts, "dead_letter.max_attempts");
  out->max_attempts = static_cast<int>(attempts);
  return st;
}

Status parse_retry(const EntryContext& ec, const YAML::Node& n, RetrySpec* out) {
  Status st = require_map(ec, n, "retry");
  if (st.ok()) {
    st = check_fields(ec, n, {"max_attempts", "initial_backoff", "backoff", "max_backoff", "multiplier"}, "retry.");
  }
  if (st.ok() && given(child(n, "initial_backoff")) && given(child(n, "backoff"))) {
    st = ec.error(child(n, "backoff"), "'retry.backoff' is a synonym of 'retry.initial_backoff': give one");
  }
  int64_t attempts = out->max_attempts;
  if (st.ok()) st = read_int(ec, n, "max_attempts", 0, 1000000, &attempts, "retry.max_attempts");
  out->max_attempts = static_cast<int>(attempts);
  if (st.ok()) st = read_duration_ms(ec, n, "initial_backoff", &out->initial_backoff_ms, "retry.initial_backoff");
  if (st.ok()) st = read_duration_ms(ec, n, "backoff", &out->initial_backoff_ms, "retry.backoff");
  if (st.ok()) st = read_duration_ms(ec, n, "max_backoff", &out->max_backoff_ms, "retry.max_backoff");
  if (st.ok()) st = read_double(ec, n, "multiplier", 1.0, 100.0, &out->multiplier, "retry.multiplier");
  if (st.ok() && out->max_backoff_ms < out->initial_backoff_ms) {
    st = ec.error(n, "'retry.max_backoff' is smaller than 'retry.initial_backoff'");
  }
  return st;
}

Status parse_queue(const EntryContext& ec, const YAML::Node& n, Config* out) {
  QueueEntry q;
  q.id = ec.id;
  q.where = ec.where();
  q.queue_name = q.id.substr(q.id.find(':') + 1);
  Status st = check_fields(ec, n,
                           {"kind", "name", "id", "meta", "driver", "queue_name", "codec", "driver_options",
                            "dead_letter", "retry", "max_body_bytes"});
  if (st.ok()) st = read_string(ec, n, "driver", &q.driver, true);
  if (st.ok()) st = read_int(ec, n, "max_body_bytes", 1, int64_t{1} << 40, &q.max_body_bytes);
  if (st.ok()) st = resolve_ref(ec, child(n, "driver"), "driver", q.driver, &q.driver);
  if (st.ok()) st = read_string(ec, n, "queue_name", &q.queue_name);
  std::string codec = "json";
  if (st.ok()) st = read_string(ec, n, "codec", &codec);
  if (!st.ok()) return st;
  if (codec == "json" || codec == "json/plain" || codec == "application/json") {
    q.codec = "json";
  } else if (codec == "msgpack" || codec == "application/msgpack") {
    q.codec = "msgpack";
  } else {
    return ec.error(child(n, "codec"), "unknown codec '" + codec +
                                           "' (expected json, json/plain, application/json, msgpack or "
                                           "application/msgpack)");
  }
  st = parse_driver_options(ec, n, &q.driver_options);
  if (st.ok() && given(child(n, "dead_letter"))) st = parse_dead_letter(ec, child(n, "dead_letter"), &q.dead_letter);
  if (st.ok() && given(child(n, "retry"))) st = parse_retry(ec, child(n, "retry"), &q.retry);
  if (!st.ok()) return st;
  // dead_letter.max_attempts is the older spelling: it applies when retry.max_attempts is not given.
  const bool retry_attempts_given = given(child(n, "retry")) && given(child(child(n, "retry"), "max_attempts"));
  if (q.dead_letter.max_attempts > 0 && !retry_attempts_given) q.retry.max_attempts = q.dead_letter.max_attempts;
  out->queues.push_back(std::move(q));
  return ok_status();
}

Status parse_consumer_lifecycle(const EntryContext& ec, const YAML::Node& lifecycle, ConsumerEntry* c) {
  if (!given(lifecycle)) return ok_status();
  Status st = require_map(ec, lifecycle, "lifecycle");
  if (st.ok()) st = check_fields(ec, lifecycle, {"auto_start", "depends_on", "security"}, "lifecycle.");
  if (st.ok()) st = read_bool(ec, lifecycle, "auto_start", &c->auto_start, "lifecycle.auto_start");
  if (st.ok()) st = read_string_list(ec, lifecycle, "depends_on", &c->depends_on, "lifecycle.depends_on");
  if (st.ok()) st = resolve_ref_list(ec, child(lifecycle, "depends_on"), "lifecycle.depends_on", &c->depends_on);
  return st;
}

// `limits: {max_instructions, timeout}`: per-call handler limits; 0 = unlimited.
Status parse_handler_limits(const EntryContext& ec, const YAML::Node& limits, HandlerLimits* out) {
  if (!given(limits)) return ok_status();
  Status st = require_map(ec, limits, "limits");
  if (st.ok()) st = check_fields(ec, limits, {"max_instructions", "timeout"}, "limits.");
  if (st.ok() && given(child(limits, "max_instructions"))) {
    int64_t n = 0;
    st = read_int(ec, limits, "max_instructions", 0, int64_t{1} << 50, &n, "limits.max_instructions");
    if (st.ok()) out->max_instructions = static_cast<uint64_t>(n);
  }
  if (st.ok() && given(child(limits, "timeout"))) {
    int64_t ms = 0;
    st = read_duration_ms(ec, limits, "timeout", &ms, "limits.timeout");
    if (st.ok()) out->timeout_ms = ms;
  }
  return st;
}

Status parse_consumer(const EntryContext& ec, const YAML::Node& n, Config* out) {
  ConsumerEntry c;
  c.id = ec.id;
  c.where = ec.where();
  Status st = check_fields(
      ec, n,
      {"kind", "name", "id", "meta", "queue", "func", "source", "method", "modules", "concurrency", "prefetch",
       "auto_ack", "group", "consumer_name", "driver_options", "security", "lifecycle", "limits"});
  if (st.ok()) st = read_string(ec, n, "queue", &c.queue, true);
  if (st.ok()) st = resolve_ref(ec, child(n, "queue"), "queue", c.queue, &c.queue);
  if (st.ok()) st = read_string(ec, n, "func", &c.handler.func);
  if (st.ok()) st = parse_lua_source(ec, n, false, &c.handler);
  if (!st.ok()) return st;
  const HandlerSpec& h = c.handler;
  if (!h.func.empty() && (!h.source.empty() || !h.method.empty())) {
    return ec.error(child(n, "func"), "give the handler either as 'func:' or as 'source:' + 'method:', not both");
  }
  if (h.func.empty() && h.source.empty()) {
    return ec.error(given(child(n, "method")) ? child(n, "method") : n,
                    "no handler: add 'func:' (a function.lua entry) or 'source:' (a Lua file) with 'method:'");
  }
  if (!h.source.empty() && h.method.empty()) return ec.error(child(n, "source"), "'source' needs 'method'");
  if (!h.func.empty()) st = resolve_ref(ec, child(n, "func"), "func", c.handler.func, &c.handler.func);
  int64_t concurrency = c.concurrency;
  int64_t prefetch = c.prefetch;
  if (st.ok()) st = read_int(ec, n, "concurrency", 1, 1024, &concurrency);
  if (st.ok()) st = read_int(ec, n, "prefetch", 1, 100000, &prefetch);
  c.concurrency = static_cast<int>(concurrency);
  c.prefetch = static_cast<int>(prefetch);
  if (st.ok()) st = read_bool(ec, n, "auto_ack", &c.auto_ack);
  if (st.ok()) st = read_string(ec, n, "group", &c.group);
  if (st.ok()) st = read_string(ec, n, "consumer_name", &c.consumer_name);
  if (st.ok()) st = parse_driver_options(ec, n, &c.driver_options);
  if (st.ok()) st = parse_handler_limits(ec, child(n, "limits"), &c.limits);
  if (st.ok()) st = parse_consumer_lifecycle(ec, child(n, "lifecycle"), &c);
  if (st.ok()) st = parse_entry_security(ec, n, child(n, "lifecycle"), &c.security);
  if (!st.ok()) return st;
  out->consumers.push_back(std::move(c));
  return ok_status();
}

Status parse_function(const EntryContext& ec, const YAML::Node& n, Config* out) {
  FunctionEntry f;
  f.id = ec.id;
  f.where = ec.where();
  Status st = check_fields(ec, n, {"kind", "name", "id", "meta", "source", "method", "modules"});
  if (st.ok()) st = parse_lua_source(ec, n, true, &f.handler);
  if (!st.ok()) return st;
  out->functions.push_back(std::move(f));
  return ok_status();
}

Status parse_process(const EntryContext& ec, const YAML::Node& n, Config* out) {
  ProcessEntry p;
  p.id = ec.id;
  p.where = ec.where();
  Status st =
      check_fields(ec, n, {"kind", "name", "id", "meta", "source", "method", "modules", "security", "lifecycle"});
  if (st.ok()) st = parse_lua_source(ec, n, true, &p.handler);
  YAML::Node lifecycle = child(n, "lifecycle");
  if (st.ok() && given(lifecycle)) {
    st = require_map(ec, lifecycle, "lifecycle");
    if (st.ok()) st = check_fields(ec, lifecycle, {"auto_start", "security"}, "lifecycle.");
    if (st.ok()) st = read_bool(ec, lifecycle, "auto_start", &p.auto_start, "lifecycle.auto_start");
  }
  if (st.ok()) st = parse_entry_security(ec, n, lifecycle, &p.security);
  if (!st.ok()) return st;
  out->processes.push_back(std::move(p));
  return ok_status();
}

Status parse_policy(const EntryContext& ec, const YAML::Node& n, Config* out) {
  PolicyEntry p;
  p.id = ec.id;
  p.where = ec.where();
  Status st = check_fields(ec, n, {"kind", "name", "id", "meta", "policy"});
  YAML::Node body = child(n, "policy");
  if (st.ok() && !given(body)) st = ec.error("'policy' is required ({actions, resources, effect, conditions})");
  if (st.ok()) st = require_map(ec, body, "policy");
  if (st.ok()) st = check_fields(ec, body, {"actions", "resources", "effect", "conditions"}, "policy.");
  if (st.ok()) st = read_string_list(ec, body, "actions", &p.actions, "policy.actions");
  if (st.ok() && p.actions.empty()) st = ec.error(body, "'policy.actions' is required");
  if (st.ok()) st = read_string_list(ec, body, "resources", &p.resources, "policy.resources");
  std::string effect = "allow";
  if (st.ok()) st = read_string(ec, body, "effect", &effect, false, "policy.effect");
  if (st.ok() && effect != "allow" && effect != "deny") {
    st = ec.error(child(body, "effect"), "'policy.effect' must be allow or deny, not '" + effect + "'");
  }
  p.allow = effect == "allow";
  if (st.ok()) st = read_string_map(ec, body, "conditions", &p.conditions, "policy.conditions");
  if (!st.ok()) return st;
  for (const auto& [key, value] : p.conditions) {
    if (key != "actor.id" && (key.rfind("actor.meta.", 0) != 0 || key.size() == 11)) {
      return ec.error(child(body, "conditions"),
                      "unknown condition '" + key + "' (supported: actor.id, actor.meta.<key>)");
    }
  }
  out->policies.push_back(std::move(p));
  return ok_status();
}

}  // namespace

Status parse_entry(const EntryContext& ec, const YAML::Node& node, Config* out) {
  const std::string& kind = ec.kind;
  if (kind.size() > kDriverKindPrefix.size() && kind.compare(0, kDriverKindPrefix.size(), kDriverKindPrefix) == 0) {
    return parse_driver(ec, node, out);
  }
  if (kind == "queue.queue") return parse_queue(ec, node, out);
  if (kind == "queue.consumer") return parse_consumer(ec, node, out);
  if (kind == "function.lua") return parse_function(ec, node, out);
  if (kind == "process.lua") return parse_process(ec, node, out);
  if (kind == "security.policy") return parse_policy(ec, node, out);
  return ec.error(child(node, "kind"), "unknown entry kind '" + kind +
                                           "' (expected queue.driver.<driver>, queue.queue, queue.consumer, "
                                           "function.lua, process.lua or security.policy)");
}

}  // namespace qplug::config
