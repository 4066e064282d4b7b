// router.cpp -- declares every configured queue and indexes it by ID.
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

}  // namespace

Status Router::lookup_error(std::string_view queue_id) {
  if (queue_id.empty()) return invalid_error("queue ID is empty");
  Status valid = validate_queue_id(queue_id);
  if (!valid.ok()) return valid;
  return not_found_error("queue '" + std::string(queue_id) + "' is not configured");
}

Result<std::unique_ptr<Router>> Router::build(const Config& config,
                                              const std::vector<std::unique_ptr<DriverInstance>>& drivers) {
  auto router = std::make_unique<Router>();
  router->routes_.reserve(config.queues.size());
  for (const QueueEntry& q : config.queues) {
    DriverInstance* inst = find_instance(drivers, q.driver);
    if (inst == nullptr) {
      return invalid_error(queue_context(q) + ": driver entry '" + q.driver + "' is not configured");
    }
    const Codec* codec = find_codec(q.codec);
    if (codec == nullptr) return invalid_error(queue_context(q) + ": unknown codec '" + q.codec + "'");
    const std::string& name = q.queue_name.empty() ? q.id.substr(q.id.find(':') + 1) : q.queue_name;
    const std::vector<qplug_kv> opts = to_abi_kvs(q.driver_options);
    qplug_status st = fresh_abi_status();
    qplug_queue* handle = inst->vt()->declare(inst->handle(), to_abi_str(name), opts.data(), opts.size(), &st);
    if (handle == nullptr) {
      if (st.code == QPLUG_OK) st.code = QPLUG_INTERNAL;
      return status_from_abi(st, queue_context(q) + ": declare '" + name + "' on driver '" + inst->entry().id +
                                     "' failed");
    }
    Route r;
    r.entry = &q;
    r.driver = inst;
    r.queue = handle;
    r.codec = codec;
    r.max_attempts = q.retry.max_attempts > 0 ? q.retry.max_attempts : q.dead_letter.max_attempts;
    router->routes_.emplace(q.id, r);
  }
  // Second pass: dead-letter targets must themselves be routed queues.
  for (auto& [id, r] : router->routes_) {
    const std::string& dlq = r.entry->dead_letter.queue;
    if (dlq.empty()) continue;
    auto it = router->routes_.find(std::string_view(dlq));
    if (it == router->routes_.end()) {
      return invalid_error(queue_context(*r.entry) + ": dead_letter.queue '" + dlq + "' is not configured");
    }
    if (it->first == id) return invalid_error(queue_context(*r.entry) + ": dead_letter.queue is the queue itself");
    r.dead_letter = &it->second;
  }
  return router;
}

}  // namespace qplug::detail
