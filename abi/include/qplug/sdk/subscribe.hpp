// qplug/sdk/subscribe.hpp -- the argument check at the top of every
// driver's subscribe(), written once.
//
// subscribe() gets a deliver callback, which must not be NULL, and options
// that may be NULL (all defaults) or come from an older host whose struct
// ends before some field (versioned.hpp: such a field reads as its default).
// read_subscribe_request() checks both and hands the driver plain values;
// what the values mean (a default prefetch, which groups exist) stays the
// driver's business.
#pragma once

#include <qplug/driver.h>

#include <cstddef>
#include <cstdint>
#include <qplug/sdk/config.hpp>
#include <qplug/sdk/message.hpp>
#include <qplug/sdk/status.hpp>
#include <string>
#include <string_view>

namespace qplug::sdk {

// subscribe()'s options, read. The views borrow from the options struct:
// copy what must outlive the subscribe() call.
struct SubscribeRequest {
  uint32_t prefetch = 0;              // 0: the driver's default
  std::string_view group;             // empty: the driver's default group
  std::string_view consumer_name;     // empty: the driver picks one
  const qplug_kv* options = nullptr;  // the consumer's driver_options.<driver>, flattened
  size_t option_count = 0;
};

// Checks subscribe()'s callback and options; on success fills *out and
// returns true. A NULL callback, or options NULL with a non-zero count, is
// INVALID naming the driver and the queue ("redis: subscribe to 'jobs':
// the deliver callback is NULL").
inline bool read_subscribe_request(std::string_view driver, std::string_view queue, const qplug_subscribe_options* o,
                                   qplug_deliver_fn deliver_cb, SubscribeRequest* out, qplug_status* st) {
  const std::string where = std::string(driver) + ": subscribe to '" + std::string(queue) + '\'';
  if (deliver_cb == nullptr) {
    fail(st, QPLUG_INVALID, false, "%s: the deliver callback is NULL", where.c_str());
    return false;
  }
  SubscribeRequest r;
  if (QPLUG_SDK_HAS_FIELD(o, qplug_subscribe_options, prefetch)) r.prefetch = o->prefetch;
  if (QPLUG_SDK_HAS_FIELD(o, qplug_subscribe_options, group)) r.group = view(o->group);
  if (QPLUG_SDK_HAS_FIELD(o, qplug_subscribe_options, consumer_name)) r.consumer_name = view(o->consumer_name);
  if (QPLUG_SDK_HAS_FIELD(o, qplug_subscribe_options, option_count)) {
    if (o->options == nullptr && o->option_count != 0) {
      fail(st, QPLUG_INVALID, false, "%s: consumer options are NULL with %zu items", where.c_str(), o->option_count);
      return false;
    }
    r.options = o->options;
    r.option_count = o->option_count;
  }
  *out = r;
  return true;
}

}  // namespace qplug::sdk
