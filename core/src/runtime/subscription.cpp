// subscription.cpp -- Runtime::subscribe and the Subscription handle.
#include <unistd.h>

#include <atomic>
#include <cstdio>

#include "runtime/consumer_state.hpp"
#include "runtime/runtime_impl.hpp"

namespace qplug {

std::string unique_consumer_name(std::string_view base) {
  static std::atomic<uint64_t> next{0};
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::snprintf(host, sizeof host, "host");
  return std::string(base) + "-" + host + "-" + std::to_string(getpid()) + "-" + std::to_string(++next);
}

}  // namespace qplug

namespace qplug::detail {
namespace {

class SubscriptionImpl final : public Subscription {
 public:
  explicit SubscriptionImpl(std::shared_ptr<ConsumerState> state) : state_(std::move(state)) {}
  ~SubscriptionImpl() override { state_->stop().ignore(); }
  Status stop() override { return state_->stop(); }
  const std::string& queue_id() const override { return state_->queue_id(); }
  uint64_t processed() const override { return state_->processed(); }
  int64_t running() const override { return state_->running(); }
  int64_t retries_outstanding() const override { return state_->retries_outstanding(); }
  SubscriptionCounters counters() const override { return state_->counters(); }

 private:
  std::shared_ptr<ConsumerState> state_;
};

Status validate_options(std::string_view queue_id, const ConsumerOptions& opts, const HandlerFactory& factory) {
  const std::string where = "subscribe to '" + std::string(queue_id) + "': ";
  if (opts.concurrency < 1)
    return invalid_error(where + "concurrency must be >= 1, got " + std::to_string(opts.concurrency));
  if (opts.prefetch < 1) return invalid_error(where + "prefetch must be >= 1, got " + std::to_string(opts.prefetch));
  if (opts.shutdown_timeout.count() < 0) return invalid_error(where + "shutdown_timeout must be >= 0");
  if (!factory) return invalid_error(where + "no handler");
  return ok_status();
}

}  // namespace

Result<std::unique_ptr<Subscription>> RuntimeImpl::subscribe(std::string_view queue_id, ConsumerOptions opts,
                                                             HandlerFactory factory) {
  const Route* route = router_->find(queue_id);
  if (route == nullptr) return Router::lookup_error(queue_id);
  Status valid = validate_options(queue_id, opts, factory);
  if (!valid.ok()) return valid;

  auto state = std::make_shared<ConsumerState>(*route, std::move(opts), std::move(factory));
  {
    std::lock_guard<std::mutex> lock(consumers_mu_);
    if (stopped_) return canceled_error("subscribe to '" + std::string(queue_id) + "': the runtime is stopped");
    // Drop entries of subscriptions that are gone, so long-lived runtimes do not grow.
    std::erase_if(consumers_, [](const std::weak_ptr<ConsumerState>& w) { return w.expired(); });
    consumers_.push_back(state);
  }
  Status s = state->start();
  if (!s.ok()) return s;
  return std::unique_ptr<Subscription>(new SubscriptionImpl(std::move(state)));
}

}  // namespace qplug::detail
