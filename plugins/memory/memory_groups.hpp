// memory_groups.hpp -- consumer groups (QPLUG_CAP_CONSUMER_GROUPS): every
// named group of a queue is a lane of its own, a complete mem_queue (ready
// list, delay heap, admission count, in-flight lists, spare pool) that the
// group's consumers read. The queue itself is its default group. A publish
// copies each message into every lane, so consumers of one group compete
// (one lane) and distinct groups each see every message published after
// the group's first subscribe (as on amqp, whose group queues cannot replay
// older messages). Everything per message -- delay, priority, nack requeue,
// settle, unsubscribe -- then works per lane without knowing about groups:
// a node belongs to the lane it was copied into.
//
// Admission is all or nothing per message: a message is admitted only when
// every lane has room under max_length, so a publish's `accepted` prefix
// is in every group, and a full group is backpressure (FULL), never a copy
// dropped for one group. A group nobody consumes fills up like the default
// group does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "memory_queue.hpp"

namespace qplug::memory {

// The lane that consumers of `group` read: the queue itself for an empty
// group or one named like the queue (the name the redis driver gives its
// default group), else the group's lane, created on its first subscribe.
// Lanes live until the driver closes.
static inline mem_queue* mem_group_lane(mem_queue* q, std::string_view group) {
  if (group.empty() || group == q->name) return q;
  mem_driver* d = q->driver;
  std::lock_guard lock(d->mu);
  mem_queue* last = q;
  for (mem_queue* g = q->next_group.load(std::memory_order_acquire); g != nullptr;
       g = g->next_group.load(std::memory_order_acquire)) {
    if (g->group == group) return g;
    last = g;
  }
  auto lane = std::make_unique<mem_queue>();
  lane->driver = d;
  lane->name = q->name;
  lane->group = std::string(group);
  lane->publish_where = q->publish_where;
  lane->max_length = q->max_length;
  lane->spare_cap = q->spare_cap;
  lane->publish_timeout_ms = q->publish_timeout_ms;
  mem_queue* raw = lane.get();
  d->group_lanes.push_back(std::move(lane));
  last->next_group.store(raw, std::memory_order_release);  // publishers see it from their next publish on
  return raw;
}

// Gives back room reserved by mem_reserve() and wakes publishers waiting
// for it (the room was briefly taken from them).
static inline void mem_unreserve(mem_queue* q, size_t n) {
  q->backlog.fetch_sub(static_cast<int64_t>(n));  // seq_cst: pairs with waiting_publishers
  mem_notify_waiters(q, q->waiting_publishers, q->not_full, true);
}

// Reserves room for up to `want` messages in every lane at once; returns
// how many (the same in each). When that is 0, *full is the lane without
// room, the one to wait for.
static inline size_t mem_reserve_lanes(mem_queue* const* lanes, size_t lane_count, size_t want, mem_queue** full) {
  size_t got = want;
  for (size_t i = 0; i < lane_count && got != 0; ++i) {
    size_t here = mem_reserve(lanes[i], got);
    if (here == got) continue;
    for (size_t j = 0; j < i; ++j) mem_unreserve(lanes[j], got - here);
    if (here == 0) *full = lanes[i];
    got = here;
  }
  return got;
}

// mem_enqueue() for a queue with groups: nodes[l][0..n) are lane l's
// copies of the batch, due[] their common due times (NULL: none delayed).
// Appends the same prefix to every lane as room allows, waiting up to
// `timeout_ms` for room; returns its length. When that is short of n,
// *full names the lane that stopped it (for the FULL message).
static inline size_t mem_enqueue_lanes(mem_queue* const* lanes, mem_node* const* const* nodes, size_t lane_count,
                                       const int64_t* due, size_t n, int64_t timeout_ms, mem_queue** full) {
  return mem_admission_loop(
      n, timeout_ms,
      [&](size_t want, mem_queue** blocked) { return mem_reserve_lanes(lanes, lane_count, want, blocked); },
      [&](size_t done, size_t got) {
        for (size_t l = 0; l < lane_count; ++l)
          mem_admit(lanes[l], nodes[l] + done, due == nullptr ? nullptr : due + done, got);
      },
      full);
}

}  // namespace qplug::memory
