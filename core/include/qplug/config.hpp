// qplug/config.hpp -- the loaded YAML configuration (DESIGN.md section 3).
//
// load_config() reads one file or a directory of *.yaml/*.yml files into one
// registry. Every entry keeps where it came from so errors can name file,
// line and entry. References are resolved to full "namespace:name" IDs.
#pragma once

#include <map>
#include <optional>
#include <qplug/status.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace qplug {

struct SourceLocation {
  std::string file;
  int line = 0;                   // 1-based; 0 unknown
  std::string to_string() const;  // "file:line"
};

// Flattened driver settings: dotted keys, string values (tls.enabled=true).
using KeyValues = std::vector<std::pair<std::string, std::string>>;

struct DriverEntry {   // kind: queue.driver.<driver>
  std::string id;      // namespace:name
  std::string driver;  // memory, amqp, redis, mqtt, or a third-party name
  std::string plugin;  // explicit .so path, empty if not given (resolved relative to the file)
  KeyValues settings;  // every other field, flattened
  SourceLocation where;
};

struct DeadLetterSpec {
  // Full ID of the dead-letter queue. Empty: the core declares `<queue>.dead`
  // beside the queue on the same driver (see Route::dead_letter).
  std::string queue;
  int max_attempts = 0;  // 0 = not given; retry.max_attempts decides
};

// Defaults are finite with exponential backoff (docs/configuration.md,
// "Retry"): a poison message ends in the dead-letter queue after
// kDefaultMaxAttempts deliveries instead of being retried forever.
struct RetrySpec {
  static constexpr int kDefaultMaxAttempts = 5;
  static constexpr int64_t kDefaultInitialBackoffMs = 1000;
  static constexpr int64_t kDefaultMaxBackoffMs = 5 * 60 * 1000;
  static constexpr double kDefaultMultiplier = 2.0;

  // Deliveries before dead-lettering; 0 = unlimited (explicit opt-in only).
  // When only dead_letter.max_attempts is given, the parser copies it here.
  int max_attempts = kDefaultMaxAttempts;
  int64_t initial_backoff_ms = kDefaultInitialBackoffMs;  // after the first failure; 0 = immediate
  int64_t max_backoff_ms = kDefaultMaxBackoffMs;
  double multiplier = kDefaultMultiplier;
};

struct QueueEntry {            // kind: queue.queue
  std::string id;              // namespace:name
  std::string driver;          // full ID of a DriverEntry
  std::string queue_name;      // broker-side name (default: entry name)
  std::string codec = "json";  // "json" (json/plain) or "msgpack" (application/msgpack)
  KeyValues driver_options;    // driver_options.<driver>.*, flattened
  DeadLetterSpec dead_letter;
  RetrySpec retry;
  // Largest encoded body a publish may carry; 0 = no limit of qplug's own
  // (the broker's still applies). Over it: INVALID before anything is sent.
  int64_t max_body_bytes = 0;
  SourceLocation where;
};

struct Actor {
  std::string id;
  std::map<std::string, std::string> meta;
};

struct SecuritySpec {
  std::optional<Actor> actor;
  std::vector<std::string> policies;  // full policy IDs
};

struct HandlerSpec {
  std::string func;    // full ID of a function.lua entry (func: form), or empty
  std::string source;  // Lua file path, resolved relative to the config file (source: form)
  std::string method;  // function name inside source
  std::vector<std::string> modules;
};

// Per-call limits for a consumer's handler (`limits:` on queue.consumer).
// Unset fields fall back to the host's defaults (QPLUG_LUA_MAX_INSTRUCTIONS,
// QPLUG_LUA_TIMEOUT_MS, else 1e9 instructions / 30 s); 0 means unlimited.
struct HandlerLimits {
  std::optional<uint64_t> max_instructions;  // Lua VM instructions per handler call
  std::optional<int64_t> timeout_ms;         // wall clock per handler call
};

struct ConsumerEntry {  // kind: queue.consumer
  std::string id;
  std::string queue;  // full queue ID
  HandlerSpec handler;
  HandlerLimits limits;
  int concurrency = 1;
  int prefetch = 10;
  bool auto_ack = false;
  std::string group;  // consumer group; empty = driver default
  // Stable consumer name (`consumer_name:`) for drivers whose sessions are
  // resumed by name. Empty: a name unique per process and subscription,
  // `<entry-id>-<host>-<pid>-<n>` (qplug::unique_consumer_name).
  std::string consumer_name;
  KeyValues driver_options;
  SecuritySpec security;
  bool auto_start = true;
  std::vector<std::string> depends_on;
  SourceLocation where;
};

struct FunctionEntry {  // kind: function.lua
  std::string id;
  HandlerSpec handler;  // source + method + modules
  SourceLocation where;
};

struct ProcessEntry {  // kind: process.lua
  std::string id;
  HandlerSpec handler;
  bool auto_start = false;
  SecuritySpec security;
  SourceLocation where;
};

struct PolicyEntry {  // kind: security.policy
  std::string id;
  std::vector<std::string> actions;               // globs
  std::vector<std::string> resources;             // globs; empty = any
  bool allow = true;                              // effect: allow | deny
  std::map<std::string, std::string> conditions;  // actor.meta.<key> == value, etc.
  SourceLocation where;
};

struct Config {
  std::vector<DriverEntry> drivers;
  std::vector<QueueEntry> queues;
  std::vector<ConsumerEntry> consumers;
  std::vector<FunctionEntry> functions;
  std::vector<ProcessEntry> processes;
  std::vector<PolicyEntry> policies;
  bool strict_security = false;  // security.strict: true
  bool lua_sandbox = true;       // security.sandbox: false = Lua entries run with full Lua (trusted hosts)
  std::string base_dir;          // directory of the config file(s)

  const DriverEntry* find_driver(std::string_view id) const;
  const QueueEntry* find_queue(std::string_view id) const;
  const FunctionEntry* find_function(std::string_view id) const;
  const PolicyEntry* find_policy(std::string_view id) const;
};

// Loads a YAML file or a directory of YAML files. Errors are INVALID and read
// "path/app.yaml:12: entry 'app:tasks': unknown driver reference 'app:nope'".
Result<Config> load_config(const std::string& path);
// Same, from text (tests, fuzzing). `name` stands in for the file name.
Result<Config> parse_config(std::string_view yaml_text, const std::string& name = "<string>");

// Queue IDs: "namespace:name", both parts non-empty, [A-Za-z0-9_.-] only.
// resolve_id("app", "tasks") -> "app:tasks"; a full ID is returned as is.
Status validate_queue_id(std::string_view id);
Result<std::string> resolve_id(std::string_view default_namespace, std::string_view ref);

}  // namespace qplug
