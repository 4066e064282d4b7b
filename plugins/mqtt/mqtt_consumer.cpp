// mqtt_consumer.cpp -- see mqtt_consumer.hpp.
#include "mqtt_consumer.hpp"

#include <qplug/sdk/status.hpp>

#include "mqtt_anchor.hpp"
#include "mqtt_properties.hpp"

namespace qplug::mqtt {

Consumer::Consumer(const Settings& settings, const sdk::HostLog& log, std::shared_ptr<Publisher> publisher,
                   ConsumerConfig config)
    : settings_(settings),
      log_(log),
      config_(std::move(config)),
      core_(std::make_shared<ConsumerCore>()),
      drain_(marker_topic(config_.client_id)) {
  core_->prefetch = config_.prefetch;
  core_->publisher = std::move(publisher);
  core_->topic = config_.topic;
  core_->log = log;
}

Consumer::~Consumer() { stop(); }

int32_t Consumer::start(qplug_status* st) {
  SessionOptions o;
  o.client_id = config_.client_id;
  o.durable = true;
  o.receive_maximum = settings_.receive_maximum > 0 ? settings_.receive_maximum
                                                    : static_cast<int>(std::min<uint32_t>(config_.prefetch, 65535));
  conn_ = std::make_unique<Connection>(settings_, o, log_);
  conn_->on_message([this](const mosquitto_message& m, const mosquitto_property* p) { on_message(m, p); });
  if (int32_t rc = conn_->connect(st); rc != QPLUG_OK) return rc;
  if (conn_->session_present()) log_.info("consumer '%s' resumed its session", config_.client_id.c_str());
  if (int32_t rc = conn_->subscribe(drain_.marker_topic(), 1, st); rc != QPLUG_OK) return rc;
  if (int32_t rc = conn_->subscribe(share_topic(config_.group, config_.topic), settings_.qos, st); rc != QPLUG_OK)
    return rc;
  // Now that this session is in the group, take over what the anchor kept.
  qplug_status ast = sdk::make_status();
  if (drain_anchor(settings_, log_, *core_->publisher, config_.group, config_.topic, &ast) != QPLUG_OK)
    log_.warn("consumer '%s': the anchor of group '%s' was not drained (%s); the next subscribe retries",
              config_.client_id.c_str(), config_.group.c_str(), ast.message);
  started_ = true;
  return QPLUG_OK;
}

void Consumer::on_message(const mosquitto_message& msg, const mosquitto_property* props) {
  if (msg.topic != nullptr && drain_.marker_topic() == msg.topic) return drain_.take(msg, props);
  sdk::OwnedMessage m;
  decode_message(msg, props, &m);
  std::unique_lock lock(core_->mu);
  // Waiting here keeps this message's PUBACK unsent: the broker still owns it.
  core_->cv.wait(lock, [&] { return core_->stopping || core_->unsettled.size() < core_->prefetch; });
  if (core_->stopping) {
    lock.unlock();
    const uint32_t prior = m.attempts - 1;
    return drain_.keep(std::move(m), prior);
  }
  auto* d = new qplug_delivery{core_, std::move(m)};
  core_->unsettled.insert(d);
  ++core_->in_callback;
  const qplug_message* view = &d->message.view();
  lock.unlock();
  config_.deliver(config_.host_ud, d, view);  // d may be settled (and freed) inside
  lock.lock();
  --core_->in_callback;
  core_->cv.notify_all();
}

bool Consumer::wait_resubscribed(std::chrono::steady_clock::time_point deadline) {
  return started_ && conn_->wait_resubscribed(deadline);
}

void Consumer::stop() {
  std::call_once(stopped_, [this] {
    if (!conn_) return;
    if (!started_) return conn_->disconnect(false);  // a failed subscribe: nothing was delivered
    {
      std::unique_lock lock(core_->mu);
      core_->stopping = true;
      core_->cv.notify_all();
      core_->cv.wait(lock, [&] { return core_->in_callback == 0; });
    }
    // From here on no callback delivers: what arrives is kept by drain_.
    qplug_status st = sdk::make_status();
    if (ensure_anchor(settings_, log_, *core_->publisher, config_.group, config_.topic, &st) != QPLUG_OK)
      log_.warn("consumer '%s': could not re-anchor group '%s': %s", config_.client_id.c_str(), config_.group.c_str(),
                st.message);
    st = sdk::make_status();
    int32_t rc = conn_->unsubscribe(share_topic(config_.group, config_.topic), &st);
    if (rc == QPLUG_OK) rc = drain_.wait_for_marker(*conn_, settings_.publish_timeout_ms, &st);
    {
      std::lock_guard lock(core_->mu);
      for (qplug_delivery* d : core_->unsettled) {
        d->canceled = true;
        drain_.keep(d->message, d->message.attempts);
      }
      core_->unsettled.clear();
    }
    // A drained session is ended; otherwise the broker keeps it (and what it
    // still holds) for this client ID to resume.
    conn_->disconnect(rc == QPLUG_OK);
    if (rc != QPLUG_OK)
      log_.warn("consumer '%s': leaving the group incompletely (%s); its session keeps the rest",
                config_.client_id.c_str(), st.message);
    st = sdk::make_status();
    if (drain_.republish(*core_->publisher, config_.topic, settings_.publish_timeout_ms, &st) != QPLUG_OK)
      log_.error("consumer '%s': %zu messages handed back could not be republished and are lost: %s",
                 config_.client_id.c_str(), drain_.size(), st.message);
  });
}

int32_t Consumer::settle(qplug_delivery* d, int32_t disposition, qplug_status* st) {
  std::unique_ptr<qplug_delivery> owned(d);
  std::shared_ptr<ConsumerCore> core = d->core;
  {
    std::lock_guard lock(core->mu);
    if (d->canceled)
      return sdk::fail(st, QPLUG_CANCELED, false, "mqtt: the subscription ended; the message went back to the queue");
    core->unsettled.erase(d);
    core->cv.notify_all();
  }
  const bool known = disposition == QPLUG_ACK || disposition == QPLUG_NACK_REQUEUE || disposition == QPLUG_REJECT;
  if (disposition == QPLUG_ACK) return QPLUG_OK;  // the PUBACK left when the callback returned
  if (disposition == QPLUG_REJECT) {
    if (!core->publisher->closed())
      core->log.info("rejected message '%s' of '%s' dropped", d->message.id.c_str(), core->topic.c_str());
    return QPLUG_OK;
  }
  // NACK_REQUEUE (and an unknown disposition, which must not lose the
  // message): publish it again with one more delivery counted.
  const qplug_message* view = &d->message.view();
  const uint32_t prior = d->message.attempts;
  qplug_status pst = sdk::make_status();
  int32_t rc = core->publisher->publish(core->topic, &view, 1, &prior, core->publisher->settings().publish_timeout_ms,
                                        nullptr, nullptr, nullptr, &pst);
  if (rc != QPLUG_OK) {
    if (!core->publisher->closed())
      core->log.error("requeue of message '%s' failed, the message is lost: %s", d->message.id.c_str(), pst.message);
    return sdk::fail(st, rc, false, "mqtt: requeue failed, message '%s' lost: %s", d->message.id.c_str(), pst.message);
  }
  if (!known)
    return sdk::fail(st, QPLUG_INVALID, false, "mqtt: unknown disposition %d; the message was requeued", disposition);
  return QPLUG_OK;
}

}  // namespace qplug::mqtt
