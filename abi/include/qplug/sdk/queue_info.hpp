// qplug/sdk/queue_info.hpp -- answering queue_info() the same way in every
// driver: counts into the caller's struct, -1 where the driver cannot know.
//
//   qplug::sdk::QueueCounts c;
//   c.messages = ready; c.consumers = subscribers;   // in_flight stays -1
//   return qplug::sdk::write_queue_info(info, c, "redis", st);
//
// The caller's struct may be an older, smaller one: only the fields its
// struct_size covers are written (a later minor may append fields, and
// writing past an older caller's struct corrupts its memory). A NULL info is
// INVALID naming the driver. No allocation, any thread.
#pragma once

#include <qplug/driver.h>

#include <cstdint>
#include <qplug/sdk/message.hpp>
#include <qplug/sdk/status.hpp>

namespace qplug::sdk {

struct QueueCounts {
  int64_t messages = -1;   // ready, not yet delivered (delayed ones included)
  int64_t in_flight = -1;  // delivered, not yet settled
  int64_t consumers = -1;  // active subscriptions
};

inline int32_t write_queue_info(qplug_queue_info* info, const QueueCounts& counts, const char* driver,
                                qplug_status* st) {
  if (info == nullptr) return fail(st, QPLUG_INVALID, false, "%s: queue_info with a NULL info", driver);
  if (QPLUG_SDK_HAS_FIELD(info, qplug_queue_info, messages)) info->messages = counts.messages;
  if (QPLUG_SDK_HAS_FIELD(info, qplug_queue_info, in_flight)) info->in_flight = counts.in_flight;
  if (QPLUG_SDK_HAS_FIELD(info, qplug_queue_info, consumers)) info->consumers = counts.consumers;
  return QPLUG_OK;
}

}  // namespace qplug::sdk
