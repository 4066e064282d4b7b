// router.cpp -- declares every configured queue (and the dead-letter queues
// the core adds) and indexes it by ID.
#include "runtime/router.hpp"

#include "runtime/abi_message.hpp"
#include "runtime/abi_status.hpp"

namespace qplug::detail {
namespace {

std::string queue_context(const QueueEntry& q) { return "queue '" + q.id + "' (" + q.where.to_string() + ")"; }

DriverInstance* find_instance(const std::vector<std::unique_ptr<DriverInstance>>& drivers, std::string_view id) {
  for (const auto& d : drivers) {
    if (d->entry().id == id) return d.get();
  }
  return nullptr;
}

std::string broker_name(const QueueEntry& q) {
  return q.queue_name.empty() ? q.id.substr(q.id.find(':') + 1) : q.queue_name;
}

// The entry of `<queue>.dead`: same driver and codec, no driver options (the
// queue's own broker arguments, e.g. a max length, are not meant for it), and
// unlimited attempts so a failing consumer of the dead queue never drops.
QueueEntry dead_entry_for(const QueueEntry& q) {
  QueueEntry d;
  d.id = q.id + std::string(Router::kDeadSuffix);
  d.driver = q.driver;
  d.queue_name = broker_name(q) + std::string(Router::kDeadSuffix);
  d.codec = q.codec;
  d.retry.max_attempts = 0;
  d.where = q.where;
  return d;
}

}  // namespace

Status Router::lookup_error(std::string_view queue_id) {
  if (queue_id.empty()) return invalid_error("queue ID is empty");
  Status valid = validate_queue_id(queue_id);
  if (!valid.ok()) return valid;
  return not_found_error("queue '" + std::string(queue_id) + "' is not configured");
}

Result<Route> Router::declare(const QueueEntry& q, const std::vector<std::unique_ptr<DriverInstance>>& drivers) {
  DriverInstance* inst = find_instance(drivers, q.driver);
  if (inst == nullptr) return invalid_error(queue_context(q) + ": driver entry '" + q.driver + "' is not configured");
  const Codec* codec = find_codec(q.codec);
  if (codec == nullptr) return invalid_error(queue_context(q) + ": unknown codec '" + q.codec + "'");
  const std::string name = broker_name(q);
  const std::vector<qplug_kv> opts = to_abi_kvs(q.driver_options);
  qplug_status st = fresh_abi_status();
  qplug_queue* handle = inst->vt()->declare(inst->handle(), to_abi_str(name), opts.data(), opts.size(), &st);
  if (handle == nullptr) {
    if (st.code == QPLUG_OK) st.code = QPLUG_INTERNAL;
    return status_from_abi(st,
                           queue_context(q) + ": declare '" + name + "' on driver '" + inst->entry().id + "' failed");
  }
  Route r;
  r.entry = &q;
  r.driver = inst;
  r.queue = handle;
  r.codec = codec;
  r.max_attempts = q.retry.max_attempts;
  return r;
}

Result<std::unique_ptr<Router>> Router::build(const Config& config,
                                              const std::vector<std::unique_ptr<DriverInstance>>& drivers) {
  auto router = std::make_unique<Router>();
  router->routes_.reserve(config.queues.size() * 2);
  for (const QueueEntry& q : config.queues) {
    auto r = router->declare(q, drivers);
    if (!r.ok()) return r.status();
    router->routes_.emplace(q.id, *r);
  }
  // Second pass: dead-letter targets. A configured one must itself be a
  // routed queue; otherwise `<queue>.dead` (a configured entry of that ID,
  // else one the core declares), so an exhausted message is never dropped.
  for (const QueueEntry& q : config.queues) {
    Route& r = router->routes_.find(std::string_view(q.id))->second;
    router->ordered_.push_back(&r);
    const std::string& dlq = q.dead_letter.queue;
    if (!dlq.empty()) {
      auto it = router->routes_.find(std::string_view(dlq));
      if (it == router->routes_.end()) {
        return invalid_error(queue_context(q) + ": dead_letter.queue '" + dlq + "' is not configured");
      }
      if (it->first == q.id) return invalid_error(queue_context(q) + ": dead_letter.queue is the queue itself");
      r.dead_letter = &it->second;
      r.dead_letter_configured = true;
      continue;
    }
    if (r.max_attempts == 0) continue;  // unlimited attempts: nothing is ever dead-lettered
    const std::string dead_id = q.id + std::string(kDeadSuffix);
    auto it = router->routes_.find(std::string_view(dead_id));
    if (it == router->routes_.end()) {
      const QueueEntry& entry = router->auto_entries_.emplace_back(dead_entry_for(q));
      auto declared = router->declare(entry, drivers);
      if (!declared.ok()) return declared.status();
      declared->auto_declared = true;
      it = router->routes_.emplace(dead_id, *declared).first;
      router->ordered_.push_back(&it->second);
    }
    r.dead_letter = &it->second;
  }
  return router;
}

}  // namespace qplug::detail
