// mqtt_consumer.cpp -- see mqtt_consumer.hpp.
#include "mqtt_consumer.hpp"

#include <algorithm>
#include <qplug/sdk/status.hpp>

#include "mqtt_anchor.hpp"
#include "mqtt_properties.hpp"

namespace qplug::mqtt {
namespace {
constexpr auto kSpoolRetry = std::chrono::seconds(1);
}  // namespace

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

// Opens the session's spool and reads what a previous process left in it:
// those messages are replayed before anything new is delivered.
int32_t Consumer::open_spool(qplug_status* st) {
  std::string err;
  core_->spool = Spool::open(settings_.spool, config_.client_id, &err);
  if (!core_->spool || !core_->spool->load(&replay_, &err)) {
    core_->spool.reset();
    // The reason first: session IDs and paths are long, and a status message is bounded.
    return sdk::fail(st, QPLUG_INVALID, false, "mqtt: %s (consumer '%s')", err.c_str(), config_.client_id.c_str());
  }
  // Entries not due yet were never handed out: scheduled again, with the
  // time they were published with (their attempts unchanged).
  const int64_t now = epoch_ms();
  std::vector<Spool::Entry> due_now;
  for (Spool::Entry& e : replay_) {
    if (e.due_ms > now)
      core_->scheduled.emplace(e.due_ms, ConsumerCore::Scheduled{std::move(e.message), e.seq});
    else
      due_now.push_back(std::move(e));
  }
  replay_ = std::move(due_now);
  core_->replaying = !replay_.empty();
  return QPLUG_OK;
}

int32_t Consumer::start(qplug_status* st) {
  if (settings_.spool.enabled)
    if (int32_t rc = open_spool(st); rc != QPLUG_OK) return rc;
  // The replay starts before the connection: a resumed session's messages
  // arrive right after the CONNACK and wait in on_message until the replay
  // is done, holding the network thread, which must still read the SUBACKs
  // below. (Replayed deliveries of a subscribe that fails later stay valid;
  // settling them removes their entries as usual.)
  if (!replay_.empty()) {
    log_.info("consumer '%s': replaying %zu unsettled messages from its spool %s", config_.client_id.c_str(),
              replay_.size(), core_->spool->path().c_str());
    replayer_ = std::thread([this] { replay(); });
  }
  if (!core_->scheduled.empty())
    log_.info("consumer '%s': %zu delayed messages from its spool are scheduled", config_.client_id.c_str(),
              core_->scheduled.size());
  scheduler_ = std::thread([this] { run_schedule(); });
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

// Delivers d (already counted in unsettled and in_callback) and uncounts it.
void Consumer::hand_to_host(qplug_delivery* d) {
  const qplug_message* view = &d->message.view();
  config_.deliver(config_.host_ud, d, view);  // d may be settled (and freed) inside
  std::lock_guard lock(core_->mu);
  --core_->in_callback;
  core_->cv.notify_all();
}

// The replay thread: the spool entries of the previous process, oldest first,
// under the same prefetch limit; on_message waits until it is done.
void Consumer::replay() {
  for (;;) {
    std::unique_lock lock(core_->mu);
    core_->cv.wait(lock, [&] { return core_->stopping || core_->unsettled.size() < core_->prefetch; });
    if (core_->stopping || replayed_ == replay_.size()) {
      // In the same critical section as the last check: on_message appends
      // to replay_ only while `replaying`, so nothing is left behind.
      core_->replaying = false;
      core_->cv.notify_all();
      return;
    }
    Spool::Entry& e = replay_[replayed_++];
    e.message.attempts += 1;  // the crashed process had it delivered once
    auto* d = new qplug_delivery{core_, std::move(e.message)};
    d->spool_seq = e.seq;
    core_->unsettled.insert(d);
    ++core_->in_callback;
    lock.unlock();
    hand_to_host(d);
  }
}

// The scheduler thread: the earliest scheduled message goes to the host once
// it is due and a prefetch slot is free. The wait is capped at a second, so a
// wall clock that is set forward or back is noticed soon.
void Consumer::run_schedule() {
  std::unique_lock lock(core_->mu);
  while (!core_->stopping) {
    if (core_->scheduled.empty()) {
      core_->schedule_cv.wait(lock);
      continue;
    }
    const int64_t wait_ms = core_->scheduled.begin()->first - epoch_ms();
    if (wait_ms > 0) {
      core_->schedule_cv.wait_for(lock, std::chrono::milliseconds(std::min<int64_t>(wait_ms, 1000)));
      continue;
    }
    if (core_->unsettled.size() >= core_->prefetch) {
      core_->schedule_cv.wait(lock);
      continue;
    }
    auto node = core_->scheduled.extract(core_->scheduled.begin());
    auto* d = new qplug_delivery{core_, std::move(node.mapped().message)};
    d->spool_seq = node.mapped().spool_seq;
    core_->unsettled.insert(d);
    ++core_->in_callback;
    lock.unlock();
    hand_to_host(d);
    lock.lock();
  }
}

void Consumer::schedule(sdk::OwnedMessage m, int64_t due_ms) {
  const uint32_t prior = m.attempts - 1;  // not handed out by us
  std::unique_lock lock(core_->mu);
  if (core_->stopping) {
    std::shared_ptr<Spool> spool = core_->spool;
    lock.unlock();
    std::string err;
    if (!started_ && spool && spool->append(m, &err, due_ms) != 0) return;
    return drain_.keep(std::move(m), prior, due_ms);
  }
  // Counted like a delivery in the callback: stop() waits for it, so the
  // entry is in `scheduled` (and handed back from there) or in the drain.
  ++core_->in_callback;
  std::shared_ptr<Spool> spool = core_->spool;
  lock.unlock();
  uint64_t seq = 0;
  if (spool) {
    // Before this callback returns (and the PUBACK leaves), like any delivery.
    seq = spool_durably(m, due_ms);
    if (seq == 0) {  // stopping while the disk refused: hand it back instead
      {
        std::lock_guard relock(core_->mu);
        --core_->in_callback;
        core_->cv.notify_all();
      }
      return drain_.keep(std::move(m), prior, due_ms);
    }
  }
  lock.lock();
  core_->scheduled.emplace(due_ms, ConsumerCore::Scheduled{std::move(m), seq});
  --core_->in_callback;
  core_->cv.notify_all();
  core_->schedule_cv.notify_one();
}

size_t Consumer::held() {
  std::lock_guard lock(core_->mu);
  return core_->unsettled.size() + core_->scheduled.size() + (replay_.size() - replayed_);
}

uint64_t Consumer::spool_durably(const sdk::OwnedMessage& m, int64_t due_ms) {
  for (unsigned tries = 0;; ++tries) {
    std::string err;
    if (uint64_t seq = core_->spool->append(m, &err, due_ms); seq != 0) return seq;
    if (tries % 60 == 0)
      log_.error("consumer '%s': cannot spool message '%s' (%s); its PUBACK is held back, retrying every second",
                 config_.client_id.c_str(), m.id.c_str(), err.c_str());
    std::unique_lock lock(core_->mu);
    if (core_->cv.wait_for(lock, kSpoolRetry, [&] { return core_->stopping; })) return 0;
  }
}

void Consumer::on_message(const mosquitto_message& msg, const mosquitto_property* props) {
  if (msg.topic != nullptr && drain_.marker_topic() == msg.topic) return drain_.take(msg, props);
  sdk::OwnedMessage m;
  int64_t due_ms = 0;
  decode_message(msg, props, &m, &due_ms);
  // Not due yet: kept here without a prefetch slot, so it holds up neither
  // this consumer nor the messages published after it.
  if (due_ms > epoch_ms()) return schedule(std::move(m), due_ms);
  uint64_t seq = 0;  // its spool entry, once written
  std::unique_lock lock(core_->mu);
  if (core_->replaying && !started_ && !core_->stopping) {
    // A resumed session's messages arrive while subscribe() still waits for
    // its SUBACKs on this very thread: waiting below for the replay to end
    // (the host settling every spooled message) would time the subscribe
    // out after a crash with slow handlers. Spool it now and, while the
    // replay runs, deliver it after the replay, in arrival order.
    lock.unlock();
    seq = spool_durably(m);
    if (seq == 0) {  // stopping while the disk refused
      const uint32_t prior = m.attempts - 1;
      return drain_.keep(std::move(m), prior);
    }
    lock.lock();
    if (core_->replaying) {
      m.attempts -= 1;  // the replay counts one more delivery for each entry; this one had none
      replay_.push_back(Spool::Entry{seq, std::move(m), 0});
      return;
    }
    // The replay ended meanwhile: on to the usual way, already spooled.
  }
  // Waiting here keeps this message's PUBACK unsent: the broker still owns it.
  core_->cv.wait(lock,
                 [&] { return core_->stopping || (!core_->replaying && core_->unsettled.size() < core_->prefetch); });
  if (core_->stopping) {
    if (seq != 0) return;  // in the spool already: delivered by the next subscribe
    std::shared_ptr<Spool> spool = core_->spool;
    lock.unlock();
    // A subscribe that failed half-way republishes nothing: keep the message
    // for the next one in the spool rather than in the drain.
    std::string err;
    if (!started_ && spool && spool->append(m, &err) != 0) return;
    const uint32_t prior = m.attempts - 1;
    return drain_.keep(std::move(m), prior);
  }
  auto* d = new qplug_delivery{core_, std::move(m)};
  d->spool_seq = seq;
  core_->unsettled.insert(d);
  ++core_->in_callback;
  lock.unlock();
  if (core_->spool && d->spool_seq == 0) {
    // The spool entry must exist before this callback returns (and the
    // PUBACK leaves): from then on the spool, not the broker, owns the message.
    d->spool_seq = spool_durably(d->message);
    if (d->spool_seq == 0) {  // stopping while the disk refused: hand it back instead
      std::unique_ptr<qplug_delivery> owned(d);
      {
        std::lock_guard relock(core_->mu);
        core_->unsettled.erase(d);
        --core_->in_callback;
        core_->cv.notify_all();
        if (!core_->scheduled.empty()) core_->schedule_cv.notify_one();
      }
      const uint32_t prior = owned->message.attempts - 1;
      return drain_.keep(std::move(owned->message), prior);
    }
  }
  hand_to_host(d);
}

bool Consumer::wait_resubscribed(std::chrono::steady_clock::time_point deadline) {
  return started_ && conn_->wait_resubscribed(deadline);
}

void Consumer::stop() {
  std::call_once(stopped_, [this] {
    if (!conn_ && !replayer_.joinable() && !scheduler_.joinable()) return;
    {
      std::unique_lock lock(core_->mu);
      core_->stopping = true;
      core_->cv.notify_all();
      core_->schedule_cv.notify_one();
      if (started_) core_->cv.wait(lock, [&] { return core_->in_callback == 0; });
    }
    if (replayer_.joinable()) replayer_.join();
    if (scheduler_.joinable()) scheduler_.join();
    if (!started_) {  // a failed subscribe: nothing was delivered
      if (conn_) conn_->disconnect(false);
      // What arrived meanwhile and found no spool (spool off, or the disk
      // refused) is in the drain, PUBACKed: republish it, never drop it.
      qplug_status st = sdk::make_status();
      if (drain_.size() > 0 &&
          drain_.republish(*core_->publisher, config_.topic, settings_.publish_timeout_ms, &st) != QPLUG_OK)
        log_.error(
            "consumer '%s': %zu messages that arrived during a failed subscribe could not be republished "
            "and are lost: %s",
            config_.client_id.c_str(), drain_.size(), st.message);
      return;
    }
    // From here on no callback delivers: what arrives is kept by drain_.
    qplug_status st = sdk::make_status();
    if (ensure_anchor(settings_, log_, *core_->publisher, config_.group, config_.topic, &st) != QPLUG_OK)
      log_.warn("consumer '%s': could not re-anchor group '%s': %s", config_.client_id.c_str(), config_.group.c_str(),
                st.message);
    st = sdk::make_status();
    int32_t rc = conn_->unsubscribe(share_topic(config_.group, config_.topic), &st);
    if (rc == QPLUG_OK) rc = drain_.wait_for_marker(*conn_, settings_.publish_timeout_ms, &st);
    std::vector<uint64_t> handed_back;  // spool entries of what drain_ republishes
    std::shared_ptr<Spool> spool;
    {
      std::lock_guard lock(core_->mu);
      for (qplug_delivery* d : core_->unsettled) {
        d->canceled = true;
        drain_.keep(d->message, d->message.attempts);
        if (d->spool_seq != 0) handed_back.push_back(d->spool_seq);
      }
      core_->unsettled.clear();
      for (size_t i = replayed_; i < replay_.size(); ++i) {
        drain_.keep(std::move(replay_[i].message), replay_[i].message.attempts);
        handed_back.push_back(replay_[i].seq);
      }
      replay_.clear();
      replayed_ = 0;
      // Not handed out yet: republished with their due time, so the member
      // that gets them keeps the schedule.
      for (auto& [due, sched] : core_->scheduled) {
        const uint32_t prior = sched.message.attempts - 1;
        drain_.keep(std::move(sched.message), prior, due);
        if (sched.spool_seq != 0) handed_back.push_back(sched.spool_seq);
      }
      core_->scheduled.clear();
      // Settles still running keep their own reference; the file closes
      // (and its lock is released) when the last of them is done.
      spool = std::move(core_->spool);
    }
    // A drained session is ended; otherwise the broker keeps it (and what it
    // still holds) for this client ID to resume.
    conn_->disconnect(rc == QPLUG_OK);
    if (rc != QPLUG_OK)
      log_.warn("consumer '%s': leaving the group incompletely (%s); its session keeps the rest",
                config_.client_id.c_str(), st.message);
    st = sdk::make_status();
    if (drain_.republish(*core_->publisher, config_.topic, settings_.publish_timeout_ms, &st) != QPLUG_OK) {
      log_.error(
          "consumer '%s': %zu messages handed back could not be republished%s: %s", config_.client_id.c_str(),
          drain_.size(),
          spool ? " (those from the spool stay there for the next subscribe; the rest are lost)" : " and are lost",
          st.message);
      return;
    }
    std::string err;
    for (uint64_t seq : handed_back)
      if (!spool->remove(seq, &err))
        log_.warn("consumer '%s': a handed-back message stays in the spool and will come again: %s",
                  config_.client_id.c_str(), err.c_str());
  });
}

int32_t Consumer::settle(qplug_delivery* d, int32_t disposition, qplug_status* st) {
  std::unique_ptr<qplug_delivery> owned(d);
  std::shared_ptr<ConsumerCore> core = d->core;
  std::shared_ptr<Spool> spool;
  {
    std::lock_guard lock(core->mu);
    if (d->canceled)
      return sdk::fail(st, QPLUG_CANCELED, false, "mqtt: the subscription ended; the message went back to the queue");
    core->unsettled.erase(d);
    core->cv.notify_all();
    if (!core->scheduled.empty()) core->schedule_cv.notify_one();
    if (d->spool_seq != 0) spool = core->spool;
  }
  // Settled: its spool entry goes. A removal that fails (or is not on disk
  // yet when the process dies) means one more delivery after a restart.
  auto forget = [&] {
    std::string err;
    if (spool && !spool->remove(d->spool_seq, &err))
      core->log.warn("settled message '%s' stays in the spool and will be delivered again: %s", d->message.id.c_str(),
                     err.c_str());
  };
  const bool known = disposition == QPLUG_ACK || disposition == QPLUG_NACK_REQUEUE || disposition == QPLUG_REJECT;
  if (disposition == QPLUG_ACK) return forget(), QPLUG_OK;
  if (disposition == QPLUG_REJECT) {
    if (!core->publisher->closed())
      core->log.info("rejected message '%s' of '%s' dropped", d->message.id.c_str(), core->topic.c_str());
    return forget(), QPLUG_OK;
  }
  // NACK_REQUEUE (and an unknown disposition, which must not lose the
  // message): publish it again with one more delivery counted.
  const qplug_message* view = &d->message.view();
  const uint32_t prior = d->message.attempts;
  qplug_status pst = sdk::make_status();
  int32_t rc = core->publisher->publish(core->topic, &view, 1, &prior, core->publisher->settings().publish_timeout_ms,
                                        nullptr, nullptr, nullptr, &pst);
  if (rc != QPLUG_OK) {
    if (spool)
      return sdk::fail(st, rc, false,
                       "mqtt: requeue of message '%s' failed (%s); it stays in the spool '%s' and is "
                       "delivered again at the next subscribe of this consumer",
                       d->message.id.c_str(), pst.message, spool->path().c_str());
    if (!core->publisher->closed())
      core->log.error("requeue of message '%s' failed, the message is lost: %s", d->message.id.c_str(), pst.message);
    return sdk::fail(st, rc, false, "mqtt: requeue failed, message '%s' lost: %s", d->message.id.c_str(), pst.message);
  }
  forget();
  if (!known)
    return sdk::fail(st, QPLUG_INVALID, false, "mqtt: unknown disposition %d; the message was requeued", disposition);
  return QPLUG_OK;
}

}  // namespace qplug::mqtt
