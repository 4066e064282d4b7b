// runtime_impl.hpp -- the Runtime behind the public API: owns the config,
// the opened driver instances, the router and the live consumers.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <qplug/runtime.hpp>
#include <qplug/security.hpp>
#include <vector>

#include "runtime/driver_instance.hpp"
#include "runtime/router.hpp"

namespace qplug::detail {

class ConsumerState;

class RuntimeImpl final : public Runtime {
 public:
  RuntimeImpl(Config config, RuntimeOptions opts);
  ~RuntimeImpl() override;

  // Opens every driver entry and declares every queue (fail fast on bad config).
  Status start();

  const Config& config() const override { return config_; }
  Status publish(std::string_view queue_id, const Value& data, const Headers& headers, const SecurityContext* security,
                 PublishOptions opts) override;
  Status publish_batch(std::string_view queue_id, std::vector<Message> messages, const SecurityContext* security,
                       PublishOptions opts) override;
  void publish_async(std::string_view queue_id, std::vector<Message> messages, std::function<void(Status)> done,
                     const SecurityContext* security) override;
  Result<std::unique_ptr<Subscription>> subscribe(std::string_view queue_id, ConsumerOptions opts,
                                                  HandlerFactory factory) override;
  Result<QueueInfo> info(std::string_view queue_id) override;
  Status check_permission(const SecurityContext* security, std::string_view action,
                          std::string_view resource) const override;
  std::vector<RouteInfo> routes() const override;
  void stop() override;

 private:
  // Route lookup + the two publish permission checks (DESIGN.md section 6).
  Result<const Route*> route_for_publish(std::string_view queue_id, const SecurityContext* security) const;

  Config config_;
  RuntimeOptions opts_;
  PolicyEvaluator evaluator_;
  bool host_always_allowed_;  // !security.strict: a null actor skips evaluation
  std::vector<std::unique_ptr<DriverInstance>> drivers_;
  std::unique_ptr<Router> router_;

  std::mutex consumers_mu_;  // guards consumers_ and stopped_ (never taken on the publish path)
  std::vector<std::weak_ptr<ConsumerState>> consumers_;
  bool stopped_ = false;
  std::atomic<bool> closed_{false};  // drivers closed: publish/subscribe/info answer CANCELED
};

}  // namespace qplug::detail
