// qplug/sdk/config.hpp -- reading a driver's flattened key/value config.
//
// Usage in open()/declare():
//   qplug::sdk::ConfigReader cfg(items, count);
//   std::string url = cfg.str("url", "redis://127.0.0.1:6379");
//   int64_t timeout = cfg.duration_ms("command_timeout", 5000);
//   if (!cfg.finish(status, "redis driver")) return nullptr;   // unknown key or bad value
//   cfg.log_warnings(host, "redis");                            // deprecated spellings
// Every getter marks its key as known; finish() reports the first unknown
// key or the first malformed value as QPLUG_INVALID, naming the key.
// Booleans and durations go through parse.hpp, the parser the core's YAML
// reader uses too, so "True" or "1.5s" mean the same in every block.
#pragma once

#include <qplug/driver.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <qplug/sdk/message.hpp>
#include <qplug/sdk/parse.hpp>
#include <qplug/sdk/status.hpp>
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
    if (std::optional<bool> v = parse_bool(e->value)) return *v;
    bad(key, e->value, "a boolean (true/false, yes/no, on/off, 1/0, any case)");
    return def;
  }

  // Durations: a bare number is milliseconds; ms, s, m, h suffixes scale;
  // fractions round to the nearest millisecond (parse_duration_ms).
  int64_t duration_ms(std::string_view key, int64_t def) {
    Entry* e = find(key);
    if (e == nullptr) return def;
    if (std::optional<int64_t> v = parse_duration_ms(e->value)) return *v;
    bad(key, e->value, "a duration (e.g. 500, 500ms, 1.5s, 2m, 1h)");
    return def;
  }

  // `old_key` is a deprecated spelling of `new_key` (both must outlive the
  // reader: string literals). Given alone, it is read as `new_key` and a
  // deprecation warning is kept for warnings(); given with `new_key` and a
  // different value, it is an error (which one was meant?).
  void alias(std::string_view old_key, std::string_view new_key) {
    Entry* old_e = find(old_key);
    if (old_e == nullptr) return;
    warnings_.push_back('\'' + std::string(old_key) + "' is deprecated, use '" + std::string(new_key) + "'");
    const Entry* new_e = find_const(new_key);
    if (new_e == nullptr) {
      old_e->key = new_key;  // read from now on under its new name
      old_e->used = false;
      return;
    }
    if (new_e->value != old_e->value) {
      fail_once('\'' + std::string(old_key) + "' (deprecated) is '" + std::string(old_e->value) + "' but '" +
                std::string(new_key) + "' is '" + std::string(new_e->value) + "': give only '" + std::string(new_key) +
                "'");
    }
  }

  // Refuses `key` if given (e.g. a setting the driver cannot honour):
  // finish() then fails with "<where>: <why>".
  void reject(std::string_view key, const std::string& why) {
    if (find(key) != nullptr) fail_once(why);
  }

  // Records an error about an already-read key (e.g. a value out of range
  // that only the driver can judge); finish() reports the first one.
  void fail_once(const std::string& message) {
    if (error_.empty()) error_ = message;
  }

  // Deprecation warnings gathered by alias(), one line each.
  const std::vector<std::string>& warnings() const { return warnings_; }

  // Logs every warning at WARN through the host (the host adds which driver
  // entry it is about). A host without a log function gets none.
  void log_warnings(const qplug_host_v1* host, const char* driver_name) const {
    log_config_warnings(host, driver_name, warnings_);
  }
  static void log_config_warnings(const qplug_host_v1* host, const char* driver_name,
                                  const std::vector<std::string>& warnings) {
    if (host == nullptr || !QPLUG_SDK_HAS_FIELD(host, qplug_host_v1, log) || host->log == nullptr) return;
    for (const std::string& w : warnings) host->log(host->host_ud, QPLUG_LOG_WARN, driver_name, w.c_str());
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
    fail_once("key '" + std::string(key) + "' has value '" + std::string(value) + "', expected " + want);
  }
  std::vector<Entry> entries_;
  std::string error_;
  std::vector<std::string> warnings_;
};

}  // namespace qplug::sdk
