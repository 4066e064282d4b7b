// publish_path.hpp -- publishing already-encoded messages on a route; shared
// by the public publish calls and the consumer runtime's dead-lettering.
#pragma once

#include <cstddef>
#include <qplug/message.hpp>
#include <qplug/runtime.hpp>

#include "runtime/router.hpp"

namespace qplug::detail {

// One blocking ABI publish of n messages. A message without an id gets a
// UUIDv7, one without a content type the route codec's, in the ABI views sent
// to the driver (`messages` itself is not changed).
Status publish_on_route(const Route& route, const Message* messages, size_t n, PublishOptions opts);

}  // namespace qplug::detail
