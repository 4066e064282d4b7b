// Cross-entry checks (see config_resolver.hpp). Errors point at the entry that
// holds the bad reference: "app.yaml:12: entry 'app:tasks' (queue.queue): driver 'app:nope' not found".
#include "config/config_resolver.hpp"

#include <set>
#include <unordered_map>

namespace qplug::config {
namespace {

struct EntryRef {
  const SourceLocation* where;
  const char* kind;
};

Status entry_error(const SourceLocation& where, const std::string& id, std::string_view kind,
                   const std::string& message) {
  return invalid_error(where.to_string() + ": entry '" + id + "' (" + std::string(kind) + "): " + message);
}

class Resolver {
 public:
  explicit Resolver(Config* c) : c_(*c) {}

  Status run() {
    Status st = index_ids();
    if (!st.ok()) return st;
    for (const DriverEntry& d : c_.drivers) driver_types_.insert(d.driver);
    for (const char* builtin : {"memory", "amqp", "redis", "mqtt"}) driver_types_.insert(builtin);
    for (QueueEntry& q : c_.queues) {
      if (!(st = resolve_queue(q)).ok()) return st;
    }
    for (ConsumerEntry& c : c_.consumers) {
      if (!(st = resolve_consumer(c)).ok()) return st;
    }
    for (ProcessEntry& p : c_.processes) {
      if (!(st = check_policies(p.security, p.where, p.id, "process.lua")).ok()) return st;
    }
    return ok_status();
  }

 private:
  Status index_ids() {
    auto add_all = [this](const auto& entries, const char* kind) -> Status {
      for (const auto& e : entries) {
        auto [it, inserted] = ids_.emplace(e.id, EntryRef{&e.where, kind});
        if (!inserted) {
          return entry_error(
              e.where, e.id, kind,
              "duplicate ID: already defined at " + it->second.where->to_string() + " (" + it->second.kind + ")");
        }
      }
      return ok_status();
    };
    Status st = add_all(c_.drivers, "queue.driver");
    if (st.ok()) st = add_all(c_.queues, "queue.queue");
    if (st.ok()) st = add_all(c_.consumers, "queue.consumer");
    if (st.ok()) st = add_all(c_.functions, "function.lua");
    if (st.ok()) st = add_all(c_.processes, "process.lua");
    if (st.ok()) st = add_all(c_.policies, "security.policy");
    return st;
  }

  // Keeps the "<type>.key" options of `driver_type`, without the prefix. Options
  // for other driver types stay in the YAML so one file can serve several
  // backends, but a type nobody declared is a typo and an error.
  Status select_driver_options(KeyValues* options, const std::string& driver_type, const SourceLocation& where,
                               const std::string& id, const char* kind) {
    KeyValues selected;
    for (auto& [key, value] : *options) {
      const std::string type = key.substr(0, key.find('.'));
      if (driver_types_.count(type) == 0) {
        return entry_error(where, id, kind, "driver_options for unknown driver type '" + type + "'");
      }
      if (type == driver_type && key.size() > type.size()) selected.emplace_back(key.substr(type.size() + 1), value);
    }
    *options = std::move(selected);
    return ok_status();
  }

  Status resolve_queue(QueueEntry& q) {
    const DriverEntry* d = c_.find_driver(q.driver);
    if (d == nullptr) return entry_error(q.where, q.id, "queue.queue", "driver '" + q.driver + "' not found");
    if (!q.dead_letter.queue.empty()) {
      if (c_.find_queue(q.dead_letter.queue) == nullptr) {
        return entry_error(q.where, q.id, "queue.queue", "dead_letter.queue '" + q.dead_letter.queue + "' not found");
      }
      if (q.dead_letter.queue == q.id) {
        return entry_error(q.where, q.id, "queue.queue", "dead_letter.queue must not be the queue itself");
      }
    }
    return select_driver_options(&q.driver_options, d->driver, q.where, q.id, "queue.queue");
  }

  Status resolve_consumer(ConsumerEntry& c) {
    const QueueEntry* q = c_.find_queue(c.queue);
    if (q == nullptr) return entry_error(c.where, c.id, "queue.consumer", "queue '" + c.queue + "' not found");
    if (!c.handler.func.empty()) {
      const FunctionEntry* f = c_.find_function(c.handler.func);
      if (f == nullptr) {
        return entry_error(c.where, c.id, "queue.consumer", "func '" + c.handler.func + "' not found");
      }
      // The runtime gets source/method directly; func keeps the function's ID.
      c.handler.source = f->handler.source;
      c.handler.method = f->handler.method;
      c.handler.modules = f->handler.modules;
    }
    for (const std::string& dep : c.depends_on) {
      if (ids_.count(dep) == 0) {
        return entry_error(c.where, c.id, "queue.consumer", "lifecycle.depends_on '" + dep + "' not found");
      }
    }
    Status st = check_policies(c.security, c.where, c.id, "queue.consumer");
    if (!st.ok()) return st;
    const DriverEntry* d = c_.find_driver(q->driver);
    return select_driver_options(&c.driver_options, d == nullptr ? "" : d->driver, c.where, c.id, "queue.consumer");
  }

  Status check_policies(const SecuritySpec& s, const SourceLocation& where, const std::string& id, const char* kind) {
    for (const std::string& p : s.policies) {
      if (c_.find_policy(p) == nullptr) return entry_error(where, id, kind, "policy '" + p + "' not found");
    }
    return ok_status();
  }

  Config& c_;
  std::unordered_map<std::string, EntryRef> ids_;
  std::set<std::string> driver_types_;
};

}  // namespace

Status resolve_config(Config* config) { return Resolver(config).run(); }

}  // namespace qplug::config
