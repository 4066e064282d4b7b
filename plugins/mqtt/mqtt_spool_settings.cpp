// mqtt_spool_settings.cpp -- see mqtt_spool_settings.hpp.
#include "mqtt_spool_settings.hpp"

#include <cstdlib>
#include <qplug/sdk/status.hpp>

namespace qplug::mqtt {

bool read_spool_settings(sdk::ConfigReader& cfg, SpoolSettings* s, qplug_status* st) {
  s->enabled = cfg.boolean("spool.enabled", s->enabled);
  s->dir = cfg.str("spool.dir", s->dir);
  std::string mode = cfg.str("spool.fsync", fsync_name(s->fsync));
  s->fsync_interval_ms = cfg.duration_ms("spool.fsync_interval", s->fsync_interval_ms);
  if (mode == "always") {
    s->fsync = SpoolFsync::kAlways;
  } else if (mode == "interval") {
    s->fsync = SpoolFsync::kInterval;
  } else if (mode == "never") {
    s->fsync = SpoolFsync::kNever;
  } else {
    return sdk::fail(st, QPLUG_INVALID, false, "mqtt: key 'spool.fsync' ('%s') must be always, interval or never",
                     mode.c_str()),
           false;
  }
  if (s->fsync_interval_ms < 1 || s->fsync_interval_ms > 3600000)
    return sdk::fail(st, QPLUG_INVALID, false, "mqtt: key 'spool.fsync_interval' must be 1ms .. 1h"), false;
  return true;
}

std::string default_spool_dir() {
  if (const char* x = std::getenv("XDG_STATE_HOME"); x != nullptr && x[0] == '/')
    return std::string(x) + "/qplug/mqtt-spool";
  if (const char* h = std::getenv("HOME"); h != nullptr && h[0] == '/')
    return std::string(h) + "/.local/state/qplug/mqtt-spool";
  return {};
}

const char* fsync_name(SpoolFsync f) {
  switch (f) {
    case SpoolFsync::kAlways:
      return "always";
    case SpoolFsync::kInterval:
      return "interval";
    default:
      return "never";
  }
}

}  // namespace qplug::mqtt
