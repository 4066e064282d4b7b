// mqtt_spool_settings.hpp -- the `spool.*` keys of the MQTT driver block:
// whether consumers keep a local write-ahead spool, where, and how often it
// is forced to disk. Kept apart from mqtt_settings.* (the network keys) so
// either can change without touching the other. docs/drivers/mqtt.md,
// "Settings" and "Guarantees", says what each mode loses in which crash.
#pragma once

#include <qplug/driver.h>

#include <cstdint>
#include <qplug/sdk/config.hpp>
#include <string>

namespace qplug::mqtt {

enum class SpoolFsync {
  kAlways,    // every spool write is on disk before the PUBACK can leave
  kInterval,  // a background fsync every fsync_interval
  kNever,     // the OS writes back when it likes
};

struct SpoolSettings {
  bool enabled = true;
  std::string dir;  // empty: default_spool_dir() at subscribe
  // The default is interval, not always: both survive a process crash (the
  // window the spool exists for), and on power loss interval loses at most
  // the last fsync_interval of unsettled deliveries -- the same order as the
  // broker itself, whose persistence is a snapshot every autosave_interval.
  // always costs one disk sync per message (~170 msg/s on the test disk).
  SpoolFsync fsync = SpoolFsync::kInterval;
  int64_t fsync_interval_ms = 1000;
};

// Reads spool.enabled, spool.dir, spool.fsync, spool.fsync_interval from
// `cfg` (before its finish(), so unknown spool.* keys are still refused).
// False + INVALID naming the key on a bad value.
bool read_spool_settings(sdk::ConfigReader& cfg, SpoolSettings* out, qplug_status* st);

// $XDG_STATE_HOME/qplug/mqtt-spool, else $HOME/.local/state/qplug/mqtt-spool
// (the XDG base directory rule); empty when neither variable is set.
std::string default_spool_dir();

const char* fsync_name(SpoolFsync f);

}  // namespace qplug::mqtt
