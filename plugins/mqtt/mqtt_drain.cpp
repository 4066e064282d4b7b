// mqtt_drain.cpp -- see mqtt_drain.hpp.
#include "mqtt_drain.hpp"

#include <atomic>
#include <chrono>
#include <qplug/sdk/publish_timeout.hpp>
#include <qplug/sdk/status.hpp>

#include "mqtt_properties.hpp"

namespace qplug::mqtt {
namespace {
std::atomic<uint64_t> g_nonce{0};
}

Drain::Drain(std::string marker_topic)
    : marker_topic_(std::move(marker_topic)),
      nonce_(std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) + "-" +
             std::to_string(g_nonce.fetch_add(1))) {}

void Drain::take(const mosquitto_message& msg, const mosquitto_property* props) {
  std::lock_guard lock(mu_);
  if (msg.topic != nullptr && marker_topic_ == msg.topic) {
    std::string payload(static_cast<const char*>(msg.payload), static_cast<size_t>(msg.payloadlen));
    if (payload == nonce_) marker_seen_ = true;  // an older drain's marker is ignored
    cv_.notify_all();
    return;
  }
  sdk::OwnedMessage m;
  int64_t due = 0;
  decode_message(msg, props, &m, &due);
  prior_.push_back(m.attempts - 1);  // not delivered by us: the count stays
  due_.push_back(due);
  kept_.push_back(std::move(m));
}

void Drain::keep(sdk::OwnedMessage m, uint32_t prior_deliveries, int64_t due_ms) {
  std::lock_guard lock(mu_);
  prior_.push_back(prior_deliveries);
  due_.push_back(due_ms);
  kept_.push_back(std::move(m));
}

size_t Drain::size() {
  std::lock_guard lock(mu_);
  return kept_.size();
}

int32_t Drain::wait_for_marker(Connection& conn, int64_t timeout_ms, qplug_status* st) {
  int mid = 0;
  if (int32_t rc = conn.publish(marker_topic_, nonce_.data(), nonce_.size(), 1, false, nullptr, &mid, st);
      rc != QPLUG_OK)
    return rc;
  std::unique_lock lock(mu_);
  if (!cv_.wait_until(lock, sdk::deadline_after(timeout_ms), [&] { return marker_seen_; }))
    return sdk::fail(st, QPLUG_TIMEOUT, true, "mqtt: session '%s' did not return its drain marker in time",
                     conn.client_id().c_str());
  return QPLUG_OK;
}

int32_t Drain::republish(Publisher& publisher, const std::string& topic, int64_t timeout_ms, qplug_status* st) {
  std::lock_guard lock(mu_);
  if (kept_.empty()) return QPLUG_OK;
  std::vector<const qplug_message*> views;
  views.reserve(kept_.size());
  for (auto& m : kept_) views.push_back(&m.view());
  size_t accepted = 0;
  int32_t rc = publisher.publish(topic, views.data(), views.size(), prior_.data(), timeout_ms, nullptr, nullptr,
                                 &accepted, st, due_.data());
  kept_.erase(kept_.begin(), kept_.begin() + static_cast<std::ptrdiff_t>(accepted));
  prior_.erase(prior_.begin(), prior_.begin() + static_cast<std::ptrdiff_t>(accepted));
  due_.erase(due_.begin(), due_.begin() + static_cast<std::ptrdiff_t>(accepted));
  return rc;
}

}  // namespace qplug::mqtt
