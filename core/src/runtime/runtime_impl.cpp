// runtime_impl.cpp -- Runtime lifecycle: load, open drivers, declare queues,
// queue info, permission checks, stop.
#include "runtime/runtime_impl.hpp"

#include <qplug/sdk/versioned.hpp>

#include "runtime/abi_status.hpp"
#include "runtime/consumer_state.hpp"

namespace qplug {

Result<std::unique_ptr<Runtime>> Runtime::load(const std::string& config_path, RuntimeOptions opts) {
  auto config = load_config(config_path);
  if (!config.ok()) return config.status();
  return create(std::move(*config), std::move(opts));
}

Result<std::unique_ptr<Runtime>> Runtime::create(Config config, RuntimeOptions opts) {
  auto rt = std::make_unique<detail::RuntimeImpl>(std::move(config), std::move(opts));
  Status s = rt->start();
  if (!s.ok()) return s;
  return std::unique_ptr<Runtime>(std::move(rt));
}

namespace detail {

// The evaluator keeps a pointer to config_, which lives as long as *this.
RuntimeImpl::RuntimeImpl(Config config, RuntimeOptions opts)
    : config_(std::move(config)),
      opts_(std::move(opts)),
      evaluator_(config_),
      host_always_allowed_(!config_.strict_security) {}

RuntimeImpl::~RuntimeImpl() { stop(); }

Status RuntimeImpl::start() {
  const std::vector<std::string> dirs = loader::search_dirs(opts_.plugin_path);
  // Every driver entry is opened, used or not, so a bad config fails at startup.
  for (const DriverEntry& entry : config_.drivers) {
    auto inst = DriverInstance::open(entry, dirs);
    if (!inst.ok()) return inst.status();
    drivers_.push_back(std::move(*inst));
  }
  auto router = Router::build(config_, drivers_);
  if (!router.ok()) return router.status();
  router_ = std::move(*router);
  return ok_status();
}

Result<QueueInfo> RuntimeImpl::info(std::string_view queue_id) {
  if (closed_.load(std::memory_order_relaxed)) return canceled_error("info: the runtime is stopped");
  const Route* route = router_->find(queue_id);
  if (route == nullptr) return Router::lookup_error(queue_id);
  QueueInfo out;
  // Through the loader's accessor: a v1.0-sized vtable has no queue_info field at all.
  const loader::QueueInfoFn queue_info = loader::queue_info(route->driver->plugin());
  if (queue_info == nullptr) return out;  // unknown counts stay -1
  auto qi = qplug::sdk::versioned<qplug_queue_info>();
  qi.messages = qi.in_flight = qi.consumers = -1;
  qplug_status st = fresh_abi_status();
  if (queue_info(route->queue, &qi, &st) != QPLUG_OK) {
    if (st.code == QPLUG_OK) st.code = QPLUG_INTERNAL;
    return status_from_abi(st, "info for '" + route->entry->id + "'");
  }
  out.messages = qi.messages;
  out.in_flight = qi.in_flight;
  out.consumers = qi.consumers;
  return out;
}

Status RuntimeImpl::check_permission(const SecurityContext* security, std::string_view action,
                                     std::string_view resource) const {
  static const std::vector<std::string> kNoPolicies;
  const Actor* actor = security != nullptr ? security->actor : nullptr;
  const Decision d =
      evaluator_.evaluate(actor, security != nullptr ? security->policies : kNoPolicies, action, resource);
  if (d.allowed) return ok_status();
  std::string msg = "permission denied: actor '" + (actor != nullptr ? actor->id : std::string("<host>")) +
                    "' may not '" + std::string(action) + "'";
  if (!resource.empty()) msg += " on '" + std::string(resource) + "'";
  // The reason names the deciding policy ("denied by policy app:no_publish").
  if (!d.reason.empty()) {
    msg += ": " + d.reason;
  } else if (!d.policy.empty()) {
    msg += ": policy " + d.policy;
  }
  return permission_denied_error(std::move(msg));
}

std::vector<RouteInfo> RuntimeImpl::routes() const {
  std::vector<RouteInfo> out;
  if (!router_) return out;
  for (const Route* r : router_->ordered()) {
    const QueueEntry& q = *r->entry;
    RouteInfo ri;
    ri.queue_id = q.id;
    ri.queue_name = q.queue_name.empty() ? q.id.substr(q.id.find(':') + 1) : q.queue_name;
    ri.codec = std::string(r->codec->name());
    ri.driver_id = r->driver->entry().id;
    ri.driver_name = r->driver->entry().driver;
    ri.plugin_file = r->driver->plugin().path;
    ri.dead_letter = r->dead_letter != nullptr ? r->dead_letter->entry->id : std::string();
    ri.dead_letter_configured = r->dead_letter_configured;
    ri.auto_declared = r->auto_declared;
    ri.capabilities = r->driver->capabilities();
    ri.max_attempts = r->max_attempts;
    ri.initial_backoff_ms = q.retry.initial_backoff_ms;
    out.push_back(std::move(ri));
  }
  return out;
}

void RuntimeImpl::stop() {
  std::vector<std::shared_ptr<ConsumerState>> live;
  {
    std::lock_guard<std::mutex> lock(consumers_mu_);
    if (stopped_) return;
    stopped_ = true;
    for (auto& w : consumers_) {
      if (auto s = w.lock()) live.push_back(std::move(s));
    }
    consumers_.clear();
  }
  // Consumers first: drivers may only close once every consumer is freed.
  for (auto& c : live) c->stop().ignore();
  live.clear();
  closed_.store(true);
  for (auto& d : drivers_) d->close();
}

}  // namespace detail
}  // namespace qplug
