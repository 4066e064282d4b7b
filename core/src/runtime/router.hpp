// router.hpp -- queue ID -> (driver instance, declared queue handle, codec).
//
// Built once at startup and read-only afterwards, so lookups on the publish
// hot path take no lock and build no std::string (heterogeneous lookup).
#pragma once

#include <qplug/driver.h>

#include <deque>
#include <memory>
#include <qplug/codec.hpp>
#include <qplug/config.hpp>
#include <qplug/status.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "runtime/driver_instance.hpp"

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
  // Where exhausted messages go: dead_letter.queue, else `<queue>.dead`
  // (declared by the core beside the queue); nullptr only with unlimited
  // attempts or for a core-declared dead-letter queue itself.
  const Route* dead_letter = nullptr;
  bool dead_letter_configured = false;  // dead_letter.queue was given (expired messages go there only)
  bool auto_declared = false;           // this is a core-declared `<queue>.dead`
  int max_attempts = 0;                 // retry.max_attempts (resolved by the parser); 0 = unlimited
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
  // Every route in config order, each core-declared `<queue>.dead` right after its queue.
  const std::vector<const Route*>& ordered() const { return ordered_; }

  // The suffix of core-declared dead-letter queues (docs/configuration.md).
  static constexpr std::string_view kDeadSuffix = ".dead";

 private:
  Result<Route> declare(const QueueEntry& q, const std::vector<std::unique_ptr<DriverInstance>>& drivers);

  Map routes_;
  std::vector<const Route*> ordered_;
  std::deque<QueueEntry> auto_entries_;  // entries of core-declared queues (stable addresses)
};

}  // namespace qplug::detail
