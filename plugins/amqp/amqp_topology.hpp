// amqp_topology.hpp -- the broker objects behind one qplug queue, by name.
//
// For a qplug queue Q (docs/drivers/amqp.md, "Topology"):
//   exchange  qplug.Q           fanout; every publish to Q goes here
//   queue     Q                 the default consumer group, bound to qplug.Q
//   queue     Q.group.G         consumer group G (declared and bound on its
//                               first subscribe, durable like Q)
//   queue     Q.delay.<ms>      one per delay level: x-message-ttl = <ms>,
//                               dead-lettered into qplug.Q (so to every
//                               group), x-expires so idle levels vanish
// A queue declared by an older qplug (Q only, published through the default
// exchange) keeps working: declare adds the exchange and binds Q to it.
#pragma once

#include <cstdint>
#include <string>

namespace qplug::amqp {

inline constexpr size_t kMaxNameBytes = 255;  // AMQP shortstr

inline std::string exchange_name(const std::string& queue) { return "qplug." + queue; }

// Empty group (or the queue's own name, the default group's name on redis
// too) is the queue itself.
inline bool is_default_group(const std::string& queue, const std::string& group) {
  return group.empty() || group == queue;
}
inline std::string group_queue_name(const std::string& queue, const std::string& group) {
  return is_default_group(queue, group) ? queue : queue + ".group." + group;
}

// A delay rounded UP to the level queue that holds it: at most 1/32 of its
// power of two later (3.1%), exact below 64 ms. Rounding bounds the number of
// level queues (32 per doubling) while never delivering early.
inline int64_t delay_level_ms(int64_t delay_ms) {
  if (delay_ms < 64) return delay_ms;
  int top = 63 - __builtin_clzll(static_cast<unsigned long long>(delay_ms));
  int64_t step = int64_t{1} << (top - 5);
  return (delay_ms + step - 1) / step * step;
}
inline std::string delay_queue_name(const std::string& queue, int64_t level_ms) {
  return queue + ".delay." + std::to_string(level_ms);
}

// A level queue is re-declared before a publish when its last declare is
// older than this (publishing does not count as "use" for x-expires), and
// expires once idle for its TTL plus kDelayQueueIdleMs: a message in it has
// always expired into Q before the queue can go.
inline constexpr int64_t kDelayRedeclareMs = 60000;
inline constexpr int64_t kDelayQueueIdleMs = 600000;

}  // namespace qplug::amqp
