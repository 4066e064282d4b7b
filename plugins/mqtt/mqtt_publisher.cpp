// mqtt_publisher.cpp -- windowed QoS 1/2 publishing with exactly-once completions.
#include "mqtt_publisher.hpp"

#include <mqtt_protocol.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <optional>
#include <qplug/sdk/publish_timeout.hpp>
#include <qplug/sdk/status.hpp>
#include <qplug/sdk/waiter.hpp>

#include "mqtt_properties.hpp"

namespace qplug::mqtt {
namespace {
std::atomic<unsigned> g_instances{0};  // tells two publishers of one process apart

// A negative PUBACK reason as a qplug status.
qplug_status reason_status(int reason, const std::string& address) {
  qplug_status st = sdk::make_status();
  const char* why = mosquitto_reason_string(reason);
  switch (reason) {
    case MQTT_RC_NOT_AUTHORIZED:
      sdk::fail(&st, QPLUG_PERMISSION_DENIED, false, "mqtt: %s refused the publish: %s", address.c_str(), why);
      break;
    case MQTT_RC_TOPIC_NAME_INVALID:
    case MQTT_RC_PACKET_TOO_LARGE:
    case MQTT_RC_PAYLOAD_FORMAT_INVALID:
      sdk::fail(&st, QPLUG_INVALID, false, "mqtt: %s refused the publish: %s", address.c_str(), why);
      break;
    case MQTT_RC_QUOTA_EXCEEDED:
      sdk::fail(&st, QPLUG_FULL, true, "mqtt: %s refused the publish: %s", address.c_str(), why);
      break;
    default:
      sdk::fail(&st, QPLUG_UNAVAILABLE, true, "mqtt: %s refused the publish: %s", address.c_str(), why);
      break;
  }
  return st;
}
}  // namespace

Publisher::Publisher(const Settings& settings, const sdk::HostLog& log) : settings_(settings), log_(log) {}

Publisher::~Publisher() { close(); }

int32_t Publisher::open(qplug_status* st) {
  // Publishes need no session of their own: the broker takes responsibility
  // with its PUBACK. A unique ID per instance keeps two processes apart.
  SessionOptions o;
  o.client_id =
      settings_.client_name + "-pub-" + std::to_string(::getpid()) + "-" + std::to_string(g_instances.fetch_add(1));
  o.send_maximum = settings_.send_maximum;
  conn_ = std::make_unique<Connection>(settings_, o, log_);
  conn_->on_publish([this](int mid, int reason) { on_ack(mid, reason); });
  conn_->on_connected([this](bool first) {
    if (!first && reconnected_) reconnected_();
  });
  if (int32_t rc = conn_->connect(st); rc != QPLUG_OK) return rc;
  expirer_ = std::thread([this] { expire_loop(); });
  return QPLUG_OK;
}

int32_t Publisher::publish(const std::string& topic, const qplug_message* const* msgs, size_t n, const uint32_t* prior,
                           int64_t timeout_ms, qplug_publish_done_fn done, void* done_ud, size_t* accepted,
                           qplug_status* st, const int64_t* due_ms) {
  if (accepted != nullptr) *accepted = 0;
  std::vector<Properties> props(n);
  for (size_t i = 0; i < n; ++i)
    if (int32_t rc = encode_properties(*msgs[i], prior == nullptr ? 0 : prior[i], i, &props[i], st,
                                       due_ms == nullptr ? 0 : due_ms[i]);
        rc != QPLUG_OK)
      return rc;
  if (timeout_ms == 0 && !conn_->connected())
    return sdk::fail(st, QPLUG_UNAVAILABLE, true, "mqtt: not connected to %s (publish timeout 0)",
                     settings_.address().c_str());
  sdk::Waiter waiter;
  auto b = std::make_shared<Batch>();
  b->done = done != nullptr ? done : sdk::Waiter::on_done;
  b->done_ud = done != nullptr ? done_ud : &waiter;
  b->confirmed.assign(n, false);
  b->mids.reserve(n);
  b->topic = topic;
  b->deadline = sdk::deadline_after(timeout_ms == 0 ? settings_.publish_timeout_ms : timeout_ms);
  Completions completions;
  for (size_t i = 0; i < n; ++i) {
    const qplug_message& m = *msgs[i];
    qplug_status pst = sdk::make_status();
    bool finished = false;
    if (int32_t rc = send(b, i, topic, m.body.ptr, m.body.len, settings_.qos, false, props[i].get(), &completions,
                          &finished, &pst);
        rc != QPLUG_OK) {
      if (i == 0) {
        *st = pst;
        return rc;  // nothing of the batch went out
      }
      std::lock_guard lock(mu_);
      if (!b->finished) finish_locked(b, pst, &completions);
      break;
    }
    if (finished) break;  // failed meanwhile (a refused PUBACK, timeout, close): the rest stays unsent
  }
  run(completions);
  if (done != nullptr) return QPLUG_OK;
  return waiter.wait_result(accepted, st);
}

int32_t Publisher::send(const std::shared_ptr<Batch>& b, size_t index, const std::string& topic, const void* body,
                        size_t len, int qos, bool retain, const mosquitto_property* props, Completions* out,
                        bool* finished, qplug_status* st) {
  uint64_t begun = 0;
  std::unique_lock lock(mu_);
  if (closing_) return sdk::fail(st, QPLUG_CANCELED, false, "mqtt: driver is closing");
  // At most once (qos 0): libmosquitto reports a QoS 0 message when it is
  // written and drops the unwritten ones at a disconnect without a word, so
  // counting them would leak room; nothing is counted in that mode.
  const bool counted = settings_.qos > 0;
  if (counted && held_ >= kMaxHeld) {
    ++room_waiters_;
    const bool room = room_cv_.wait_until(lock, b->deadline, [&] { return closing_ || held_ < kMaxHeld; });
    --room_waiters_;
    if (closing_) return sdk::fail(st, QPLUG_CANCELED, false, "mqtt: driver is closing");
    if (!room) {
      const bool up = conn_->connected();
      return sdk::fail(st, up ? QPLUG_TIMEOUT : QPLUG_UNAVAILABLE, true,
                       "mqtt: %s: %zu messages are waiting for their PUBACK, the most one connection can tell apart; "
                       "publish not sent within publish_timeout",
                       settings_.address().c_str(), held_);
    }
  }
  if (counted) ++held_;
  begun = early_acks_.begin();
  lock.unlock();
  int mid = 0;
  const int32_t rc = conn_->publish(topic, body, len, qos, retain, props, &mid, st);
  lock.lock();
  if (rc != QPLUG_OK) released_locked();  // not queued: no PUBACK will come for it
  if (rc == QPLUG_OK && !b->finished) {
    if (index == 0) {  // from now on the expirer and close() complete it
      batches_.push_back(b);
      deadline_added_locked(b->deadline);
    }
    b->mids.push_back(mid);
    const Pending p{b, index};
    if (std::optional<int> reason = early_acks_.take(mid, begun)) {
      acked_locked(p, *reason, out);
    } else if (auto [it, added] = in_flight_.try_emplace(mid, p); !added) {
      // Cannot happen while held_ < kMaxHeld and PUBACKs come in order; if
      // it does, neither PUBACK can be told apart: both batches fail
      // (retryable), so a retry may duplicate but nothing counts as stored
      // that was not.
      log_.error("publisher: message ID %d reused while still unconfirmed; failing both publishes", mid);
      qplug_status cst = sdk::make_status();
      sdk::fail(&cst, QPLUG_UNAVAILABLE, true, "mqtt: message ID %d was reused before its PUBACK came", mid);
      const std::shared_ptr<Batch> older = it->second.batch;
      if (!older->finished) finish_locked(older, cst, out);
      if (!b->finished) finish_locked(b, cst, out);
    }
  }
  if (early_acks_.end()) sends_done_cv_.notify_all();
  *finished = b->finished;
  return rc;
}

int32_t Publisher::publish_retained(const std::string& topic, const std::string& payload, qplug_status* st) {
  sdk::Waiter waiter;
  auto b = std::make_shared<Batch>();
  b->done = sdk::Waiter::on_done;
  b->done_ud = &waiter;
  b->confirmed.assign(1, false);
  b->needs_subscriber = false;  // the retained message is kept without one
  b->deadline = sdk::deadline_after(settings_.publish_timeout_ms);
  Completions completions;
  bool finished = false;
  if (int32_t rc = send(b, 0, topic, payload.data(), payload.size(), 1, true, nullptr, &completions, &finished, st);
      rc != QPLUG_OK)
    return rc;
  run(completions);
  return waiter.wait_result(nullptr, st);
}

void Publisher::on_ack(int mid, int reason) {
  Completions completions;
  {
    std::lock_guard lock(mu_);
    released_locked();  // libmosquitto reports each message it held once
    auto it = in_flight_.find(mid);
    if (it == in_flight_.end()) {
      // Its send() has not recorded the mid yet, or its batch already
      // completed (timeout, close): EarlyAcks tells them apart.
      early_acks_.arrived(mid, reason);
      return;
    }
    const Pending p = it->second;
    in_flight_.erase(it);
    acked_locked(p, reason, &completions);
    if (draining_ && in_flight_.empty()) drained_cv_.notify_all();
  }
  run(completions);
}

void Publisher::released_locked() {
  if (held_ > 0) --held_;
  if (room_waiters_ > 0 && held_ < kMaxHeld) room_cv_.notify_all();
}

void Publisher::acked_locked(const Pending& p, int reason, Completions* out) {
  if (p.batch->finished) return;
  if (reason >= 0x80) {
    finish_locked(p.batch, reason_status(reason, settings_.address()), out);
  } else if (reason == MQTT_RC_NO_MATCHING_SUBSCRIBERS && p.batch->needs_subscriber) {
    // Accepted and thrown away: no consumer session and no anchor holds
    // the queue's topic (an anchor lost with its broker state, a group
    // that left). Retryable, so the publisher sends it again rather than
    // believe it queued (chaos suite: 25 of 10000 lost this way).
    qplug_status st = sdk::make_status();
    sdk::fail(&st, QPLUG_UNAVAILABLE, true,
              "mqtt: %s has no subscription for '%s' (no consumer and no anchor session): the message was not "
              "queued",
              settings_.address().c_str(), p.batch->topic.c_str());
    finish_locked(p.batch, st, out);
  } else {
    p.batch->confirmed[p.index] = true;
    if (++p.batch->confirmed_count == p.batch->confirmed.size()) finish_locked(p.batch, sdk::make_status(), out);
  }
}

void Publisher::finish_locked(const std::shared_ptr<Batch>& b, const qplug_status& st, Completions* out) {
  b->finished = true;
  for (int mid : b->mids) {
    auto it = in_flight_.find(mid);
    if (it != in_flight_.end() && it->second.batch == b) in_flight_.erase(it);
  }
  out->emplace_back(b, st);
}

void Publisher::run(Completions& completions) {
  for (auto& [b, st] : completions) {
    size_t leading = 0;
    while (leading < b->confirmed.size() && b->confirmed[leading]) ++leading;
    b->done(b->done_ud, &st, leading);
  }
}

void Publisher::expire_loop() {
  std::unique_lock lock(mu_);
  while (!closing_) {
    auto next = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    for (const auto& b : batches_)
      if (!b->finished && b->deadline < next) next = b->deadline;
    expirer_wake_ = next;
    expire_cv_.wait_until(lock, next);
    expirer_wake_ = std::chrono::steady_clock::time_point::max();  // awake: it rescans before sleeping again
    Completions completions;
    const auto now = std::chrono::steady_clock::now();
    const bool up = conn_->connected();
    for (const auto& b : batches_) {
      if (b->finished || b->deadline > now) continue;
      qplug_status st = sdk::make_status();
      sdk::fail(&st, up ? QPLUG_TIMEOUT : QPLUG_UNAVAILABLE, true,
                up ? "mqtt: %s did not confirm the publish within publish_timeout"
                   : "mqtt: %s is unreachable; publish not confirmed within publish_timeout",
                settings_.address().c_str());
      finish_locked(b, st, &completions);
    }
    std::erase_if(batches_, [](const auto& b) { return b->finished; });
    lock.unlock();
    run(completions);
    lock.lock();
  }
}

void Publisher::deadline_added_locked(std::chrono::steady_clock::time_point deadline) {
  if (deadline < expirer_wake_) expire_cv_.notify_one();
}

bool Publisher::closed() {
  std::lock_guard lock(mu_);
  return closing_;
}

void Publisher::close() {
  if (!conn_) return;
  Completions completions;
  {
    std::unique_lock lock(mu_);
    if (closing_) return;
    // Give what is in flight a moment to be confirmed before failing it.
    draining_ = true;
    drained_cv_.wait_until(lock, sdk::deadline_after(std::min<int64_t>(settings_.publish_timeout_ms, 2000)),
                           [&] { return in_flight_.empty(); });
    draining_ = false;
    closing_ = true;
    room_cv_.notify_all();  // a send() waiting for room gives up
    // A send() under way records its mid (or finds its batch finished) first.
    sends_done_cv_.wait(lock, [&] { return early_acks_.sending() == 0; });
    qplug_status st = sdk::make_status();
    sdk::fail(&st, QPLUG_UNAVAILABLE, true, "mqtt: driver closed before the broker confirmed the publish");
    for (const auto& b : batches_)
      if (!b->finished) finish_locked(b, st, &completions);
    batches_.clear();
    expire_cv_.notify_all();
  }
  run(completions);
  if (expirer_.joinable()) expirer_.join();
  conn_->disconnect(false);
}

}  // namespace qplug::mqtt
