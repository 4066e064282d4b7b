// router.hpp -- queue ID -> (driver instance, declared queue handle, codec).
//
// Built once at startup and read-only afterwards, so lookups on the publish
// hot path take no lock and build no std::string (heterogeneous lookup).
#pragma once

#include <qplug/codec.hpp>
#include <qplug/config.hpp>
#include <qplug/driver.h>
#include <qplug/status.hpp>

#include "runtime/driver_instance.hpp"

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace qplug::detail {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

struct Route {
  const QueueEntry* entry = nullptr;
  DriverInstance* driver = nullptr;
  qplug_queue* queue = nullptr;
  const Codec* codec = nullptr;
  const Route* dead_letter = nullptr;  // resolved dead_letter.queue, or nullptr
  int max_attempts = 0;                // retry.max_attempts, else dead_letter.max_attempts; 0 = unlimited
};

class Router {
 public:
  // Declares every queue of `config` on its driver instance (looked up by
  // driver entry ID in `drivers`).
  static Result<std::unique_ptr<Router>> build(const Config& config,
                                               const std::vector<std::unique_ptr<DriverInstance>>& drivers);

  // nullptr when the ID is not routed; see lookup_error() for why.
  const Route* find(std::string_view queue_id) const {
    auto it = routes_.find(queue_id);
    return it == routes_.end() ? nullptr : &it->second;
  }
  // The error for a failed find(): INVALID (empty / malformed) or NOT_FOUND.
  static Status lookup_error(std::string_view queue_id);

  using Map = std::unordered_map<std::string, Route, StringHash, std::equal_to<>>;
  const Map& routes() const { return routes_; }

 private:
  Map routes_;
};

}  // namespace qplug::detail
