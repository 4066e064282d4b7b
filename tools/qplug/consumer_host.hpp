// consumer_host.hpp -- what `qplug run` and `qplug lua` share about hosting a
// config's consumers: which auto_start consumers start and in which order,
// the ConsumerOptions of an entry, starting them, and idle detection.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <qplug/config.hpp>
#include <qplug/runtime.hpp>
#include <vector>

namespace qplug::cli {

// The auto_start consumers of `config`, each after the auto_start consumers
// it depends_on; a cycle is INVALID naming a consumer on it and its file:line.
Result<std::vector<const ConsumerEntry*>> consumer_start_order(const Config& config);

// The ConsumerOptions a queue.consumer entry asks for.
ConsumerOptions consumer_options(const ConsumerEntry& consumer);

using Subscriptions = std::vector<std::unique_ptr<Subscription>>;

// Starts the auto_start consumers in start order, handlers from the registered
// HandlerResolver. On error, the ones already started are stopped (by their
// destructors) and the error names the consumer and its file:line.
Result<Subscriptions> start_consumers(Runtime& runtime);

// True when no handler runs, no retry this process scheduled is outstanding
// (Subscription::retries_outstanding), and every consumed queue reports 0 ready and 0
// in-flight messages (unknown counts, -1, count as idle; a failing info()
// does not: the broker may still hold messages).
bool consumers_idle(Runtime& runtime, const Subscriptions& subs);

// `qplug run --exit-when-idle`'s rule (docs/cli.md): consumers_idle()'s and,
// for each queue whose ready count is unknown (-1: the driver cannot see the
// broker's queue, e.g. mqtt), no delivery to its subscription for `quiet`,
// counted from the watch's creation. On mqtt the messages a group's anchor
// kept are republished to the group after subscribe and arrive a moment
// later; a queue without counts was "idle" in that moment. Call it from
// one thread, each poll: it notes the subscriptions' progress.
class IdleWatch {
 public:
  explicit IdleWatch(std::chrono::milliseconds quiet);
  bool idle(Runtime& runtime, const Subscriptions& subs);

 private:
  using Clock = std::chrono::steady_clock;
  std::chrono::milliseconds quiet_;
  Clock::time_point since_;              // creation: subscribe returned by then
  std::vector<uint64_t> seen_;           // per subscription: deliveries noted so far
  std::vector<Clock::time_point> last_;  // per subscription: when that count last moved
};

// The default quiet window of IdleWatch (`qplug run --idle-quiet`).
inline constexpr std::chrono::milliseconds kDefaultIdleQuiet{3000};

}  // namespace qplug::cli
