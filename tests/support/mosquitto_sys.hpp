// tests/support/mosquitto_sys.hpp -- reading mosquitto's $SYS counters from
// a test, through the mosquitto_sub client the test machine installs (so the
// support library needs no libmosquitto of its own).
//
// mosquitto publishes each $SYS value (retained) only when it changes, and
// in 2.0.11 a retained value vanishes about a minute after its last change:
// reading a counter that rarely moves (publish/messages/dropped) may then find
// nothing. Tests that assert "nothing dropped" use MosquittoDropWatch
// (mosquitto_drop_watch.hpp), which watches live instead.
#pragma once

#include <optional>
#include <string>

namespace qplug::testing {

// The current value of $SYS/<topic> (e.g. "broker/publish/messages/dropped")
// on the broker at `url` (mqtt://host:port), or nullopt when mosquitto_sub
// cannot read it within a few seconds (see above). Values that change every
// sys_interval (broker/uptime, 1 s in tools/scripts/mosquitto.conf.in) are
// always there.
std::optional<long long> mosquitto_sys_counter(const std::string& url, const std::string& topic);

}  // namespace qplug::testing
