// qplug/sdk/config.hpp -- reading a driver's flattened key/value config.
//
// Usage in open()/declare():
//   qplug::sdk::ConfigReader cfg(items, count);
//   std::string url = cfg.str("url", "redis://127.0.0.1:6379");
//   int64_t timeout = cfg.duration_ms("command_timeout", 5000);
//   if (!cfg.finish(status, "redis")) return nullptr;   // unknown key or bad value
// Every getter marks its key as known; finish() reports the first unknown
// key or the first malformed value as QPLUG_INVALID, naming the key.
#pragma once

#include <qplug/driver.h>
#include <qplug/sdk/status.hpp>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace qplug::sdk {

inline std::string_view view(qplug_str s) { return s.len == 0 ? std::string_view{} : std::string_view{s.ptr, s.len}; }
inline qplug_str to_str(std::string_view s) { return qplug_str{s.data(), s.size()}; }

class ConfigReader {
 public:
  ConfigReader(const qplug_kv* items, size_t count) {
    for (size_t i = 0; i < count; ++i) entries_.push_back({view(items[i].key), view(items[i].value), false});
  }

  bool has(std::string_view key) const { return find_const(key) != nullptr; }

  std::string str(std::string_view key, std::string_view def) {
    Entry* e = find(key);
    return e == nullptr ? std::string(def) : std::string(e->value);
  }

  int64_t integer(std::string_view key, int64_t def, int64_t min = INT64_MIN, int64_t max = INT64_MAX) {
    Entry* e = find(key);
    if (e == nullptr) return def;
    std::string v(e->value);
    char* end = nullptr;
    errno = 0;
    long long n = std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || errno != 0 || *end != '\0' || n < min || n > max) {
      bad(key, e->value, "an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
      return def;
    }
    return n;
  }

  bool boolean(std::string_view key, bool def) {
    Entry* e = find(key);
    if (e == nullptr) return def;
    if (e->value == "true" || e->value == "yes" || e->value == "on" || e->value == "1") return true;
    if (e->value == "false" || e->value == "no" || e->value == "off" || e->value == "0") return false;
    bad(key, e->value, "a boolean (true/false)");
    return def;
  }

  // Durations: plain integers are milliseconds; suffixes ms, s, m, h accepted.
  int64_t duration_ms(std::string_view key, int64_t def) {
    Entry* e = find(key);
    if (e == nullptr) return def;
    std::string v(e->value);
    char* end = nullptr;
    errno = 0;
    double n = std::strtod(v.c_str(), &end);
    std::string_view unit(end);
    double mult = unit.empty() || unit == "ms" ? 1.0 : unit == "s" ? 1000.0 : unit == "m" ? 60000.0 : unit == "h" ? 3600000.0 : -1.0;
    if (v.empty() || errno != 0 || end == v.c_str() || mult < 0 || n < 0) {
      bad(key, e->value, "a duration (e.g. 500, 500ms, 2s, 1m)");
      return def;
    }
    return static_cast<int64_t>(n * mult);
  }

  // Reports the first bad value, else the first key no getter asked for.
  // `where` names the block for the message (e.g. "redis driver", "queue options").
  bool finish(qplug_status* st, std::string_view where) const {
    if (!error_.empty()) {
      fail(st, QPLUG_INVALID, false, "%.*s: %s", static_cast<int>(where.size()), where.data(), error_.c_str());
      return false;
    }
    for (const Entry& e : entries_) {
      if (!e.used) {
        fail(st, QPLUG_INVALID, false, "%.*s: unknown key '%.*s'", static_cast<int>(where.size()), where.data(),
             static_cast<int>(e.key.size()), e.key.data());
        return false;
      }
    }
    return true;
  }

 private:
  struct Entry {
    std::string_view key;
    std::string_view value;
    bool used;
  };
  Entry* find(std::string_view key) {
    Entry* hit = nullptr;
    for (Entry& e : entries_) {
      if (e.key == key) {
        e.used = true;
        hit = &e;  // last one wins, like a YAML override
      }
    }
    return hit;
  }
  const Entry* find_const(std::string_view key) const {
    for (const Entry& e : entries_)
      if (e.key == key) return &e;
    return nullptr;
  }
  void bad(std::string_view key, std::string_view value, const std::string& want) {
    if (error_.empty()) error_ = "key '" + std::string(key) + "' has value '" + std::string(value) + "', expected " + want;
  }
  std::vector<Entry> entries_;
  std::string error_;
};

}  // namespace qplug::sdk
