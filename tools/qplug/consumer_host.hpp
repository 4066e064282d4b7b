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

// `qplug run --exit-when-idle`'s and `qplug lua`'s rule (docs/cli.md): no
// handler runs, no retry this process scheduled is outstanding
// (Subscription::retries_outstanding), every consumed queue reports 0 ready
// and 0 in-flight messages (a failing info() does not count: the broker may
// still hold messages), and that has held with no delivery to the queue's
// subscription for a window counted from the watch's creation: `settle` for a
// queue with counts, `quiet` too for one whose ready count is unknown (-1:
// the driver cannot see the broker's queue, e.g. mqtt).
//  - settle: a broker's ready count leaves out what it already handed to
//    this consumer and has not arrived yet. amqp reported 0 ready and 0
//    in flight right after subscribe while the one message was on its way,
//    and the run exited with `processed 0` (amqp.BadInputMatrix, "typed
//    headers arrive", 1 of about 8 repeated runs on a loaded box).
//  - quiet: on mqtt the messages a group's anchor kept are republished to
//    the group after subscribe and arrive a moment later.
// Call it from one thread, each poll: it notes the subscriptions' progress.
class IdleWatch {
 public:
  explicit IdleWatch(std::chrono::milliseconds quiet, std::chrono::milliseconds settle);
  bool idle(Runtime& runtime, const Subscriptions& subs);

 private:
  using Clock = std::chrono::steady_clock;
  std::chrono::milliseconds quiet_, settle_;
  Clock::time_point since_;              // creation: subscribe returned by then
  std::vector<uint64_t> seen_;           // per subscription: deliveries noted so far
  std::vector<Clock::time_point> last_;  // per subscription: when that count last moved
};

// IdleWatch's settle window: far above a delivery's time on the wire from a
// broker on the same network, short enough not to slow a run noticeably.
inline constexpr std::chrono::milliseconds kCountSettle{300};

// The default quiet window of IdleWatch (`qplug run --idle-quiet`).
inline constexpr std::chrono::milliseconds kDefaultIdleQuiet{3000};

}  // namespace qplug::cli
