// consumer_host.cpp -- starting a config's consumers and telling when they are idle.
#include "consumer_host.hpp"

#include <algorithm>
#include <set>
#include <string>

#include "handler_registry.hpp"

namespace qplug::cli {

Result<std::vector<const ConsumerEntry*>> consumer_start_order(const Config& config) {
  std::vector<const ConsumerEntry*> pending, ordered;
  std::set<std::string> auto_ids, placed;
  for (const ConsumerEntry& c : config.consumers) {
    if (c.auto_start) {
      pending.push_back(&c);
      auto_ids.insert(c.id);
    }
  }
  while (!pending.empty()) {
    bool progress = false;
    for (auto it = pending.begin(); it != pending.end();) {
      bool ready = true;
      for (const std::string& dep : (*it)->depends_on) {
        if (auto_ids.count(dep) != 0 && placed.count(dep) == 0) ready = false;
      }
      if (ready) {
        placed.insert((*it)->id);
        ordered.push_back(*it);
        it = pending.erase(it);
        progress = true;
      } else {
        ++it;
      }
    }
    if (!progress) {
      const ConsumerEntry& c = *pending.front();
      return invalid_error("consumer '" + c.id + "' (" + c.where.to_string() + "): depends_on forms a cycle");
    }
  }
  return ordered;
}

ConsumerOptions consumer_options(const ConsumerEntry& c) {
  ConsumerOptions o;
  o.concurrency = c.concurrency;
  o.prefetch = c.prefetch;
  o.auto_ack = c.auto_ack;
  o.group = c.group;
  // Unique per process unless the entry pins a stable name: processes of one
  // config must compete on a queue, never share one consumer identity.
  o.name = c.consumer_name.empty() ? unique_consumer_name(c.id) : c.consumer_name;
  o.driver_options = c.driver_options;
  return o;
}

Result<Subscriptions> start_consumers(Runtime& runtime) {
  auto order = consumer_start_order(runtime.config());
  if (!order.ok()) return order.status();
  Subscriptions subs;
  for (const ConsumerEntry* c : *order) {
    auto factory = handler_resolver()(runtime, *c);
    if (!factory.ok()) return factory.status();
    auto sub = runtime.subscribe(c->queue, consumer_options(*c), std::move(*factory));
    if (!sub.ok()) {
      return Status(sub.status().kind(),
                    "consumer '" + c->id + "' (" + c->where.to_string() + "): " + sub.status().message());
    }
    subs.push_back(std::move(*sub));
  }
  return subs;
}

IdleWatch::IdleWatch(std::chrono::milliseconds quiet, std::chrono::milliseconds settle)
    : quiet_(quiet), settle_(settle), since_(Clock::now()) {}

bool IdleWatch::idle(Runtime& runtime, const Subscriptions& subs) {
  const Clock::time_point now = Clock::now();
  seen_.resize(subs.size(), 0);
  last_.resize(subs.size(), since_);
  // Every subscription's progress first, so each poll notes it.
  for (size_t i = 0; i < subs.size(); ++i) {
    // Handled or expired: both mean a delivery arrived.
    const uint64_t seen = subs[i]->processed() + subs[i]->counters().expired;
    if (seen != seen_[i]) {
      seen_[i] = seen;
      last_[i] = now;
    }
  }
  for (size_t i = 0; i < subs.size(); ++i) {
    const auto& s = subs[i];
    if (s->running() > 0 || s->retries_outstanding() > 0) return false;
    auto info = runtime.info(s->queue_id());  // one call per queue and poll
    if (!info.ok()) return false;
    if (info->messages > 0 || info->in_flight > 0) return false;
    const auto window = info->messages < 0 ? std::max(quiet_, settle_) : settle_;
    if (now - last_[i] < window) return false;
  }
  return true;
}

}  // namespace qplug::cli
