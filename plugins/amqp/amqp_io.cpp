// amqp_io.cpp -- the connection I/O thread: pipeline, confirms, deliveries,
// acks and reconnects. See amqp_io.hpp for the threading model.
#include "amqp_io.hpp"

#include <poll.h>

#include <algorithm>
#include <chrono>
#include <qplug/sdk/publish_timeout.hpp>
#include <qplug/sdk/status.hpp>

#include "amqp_errors.hpp"
#include "amqp_headers.hpp"
#include "amqp_topology.hpp"

namespace qplug::amqp {
namespace {

constexpr const char* amqp_name = "amqp";
constexpr uint16_t amqp_publish_channel = 1;
constexpr uint16_t amqp_control_channel = 2;
constexpr int amqp_idle_poll_ms = 200;      // heartbeats and deadlines are checked this often
constexpr int amqp_frames_per_pass = 2048;  // then go back to host commands (fairness)

qplug_status amqp_make_status(int32_t code, bool retryable, const std::string& why) {
  qplug_status st{};
  sdk::fail(&st, code, retryable, "%s", why.c_str());
  return st;
}

}  // namespace

Io::Io(DriverConfig cfg, const qplug_host_v1* host)
    : cfg_(std::move(cfg)), log_(host, amqp_name), backoff_(cfg_.reconnect_delay_ms, cfg_.reconnect_max_delay_ms) {}

Io::~Io() { stop(1000); }

int64_t Io::now_ns() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Through the SDK's HostLog: it reads host->log only when the host's
// struct_size covers it (an older host's struct ends before it).
void Io::log(int32_t level, const std::string& msg) const { log_.log(level, "%s", msg.c_str()); }

int32_t Io::start(qplug_status* st) {
  int32_t rc = conn_.open(cfg_, st);
  if (rc == QPLUG_OK) rc = setup_session(st);
  if (rc != QPLUG_OK) {
    conn_.close(0);
    return rc;
  }
  thread_ = std::thread([this] { run(); });
  return QPLUG_OK;
}

void Io::stop(uint32_t timeout_ms) {
  if (!thread_.joinable()) return;
  stop_deadline_ns_ = now_ns() + static_cast<int64_t>(timeout_ms) * 1000000;
  stopping_.store(true);
  commands_.wake();
  thread_.join();
}

int32_t Io::call(Command c, qplug_status* st) {
  auto done = std::make_shared<sdk::Waiter>();
  c.done = done;
  if (on_io_thread())
    return sdk::fail(st, QPLUG_INTERNAL, false, "amqp: blocking call from inside a delivery callback");
  if (stopping_.load()) return sdk::fail(st, QPLUG_CANCELED, false, "amqp: driver is closing");
  submit(std::move(c));
  return done->wait_result(nullptr, st);
}

bool Io::reserve(size_t n, int64_t timeout_ms) {
  const size_t limit = static_cast<size_t>(cfg_.confirm_window) * 4;
  std::unique_lock<std::mutex> lock(queued_mu_);
  auto room = [&] { return queued_ == 0 || queued_ + n <= limit || stopping_.load(); };
  if (!room()) {
    if (timeout_ms == 0 || on_io_thread()) return false;
    // wait_until a saturated deadline: wait_for(huge) would overflow now + timeout.
    if (!queued_cv_.wait_until(lock, sdk::deadline_after(timeout_ms), room)) return false;
  }
  queued_ += n;
  return true;
}

void Io::release_queued(size_t n) {
  std::lock_guard<std::mutex> lock(queued_mu_);
  queued_ -= std::min(queued_, n);
  queued_cv_.notify_all();
}

// ---------------------------------------------------------------- session

int32_t Io::setup_session(qplug_status* st) {
  if (int agreed = conn_.frame_max(); agreed > 0) frame_max_.store(agreed, std::memory_order_relaxed);
  window_.restart();  // publish sequence numbers restart with confirm.select
  int32_t rc = conn_.open_channel(amqp_publish_channel, st);
  if (rc == QPLUG_OK) rc = conn_.confirm_select(amqp_publish_channel, st);
  if (rc == QPLUG_OK) rc = conn_.open_channel(amqp_control_channel, st);
  if (rc != QPLUG_OK) return rc;
  next_channel_ = 3;
  free_channels_.clear();
  for (qplug_queue* q : topology_) {
    qplug_status qst{};
    q->delay_declared_ns.clear();  // a new connection declares each level again before using it
    if (declare_topology(q, &qst) != QPLUG_OK) {
      log(QPLUG_LOG_ERROR, std::string("re-declare after reconnect failed: ") + qst.message);
      if (conn_.broken()) return sdk::fail(st, qst.code, true, "%s", qst.message);
    }
  }
  for (const auto& c : consumers_) {
    qplug_status cst{};
    c->resubscribe_pending = false;
    c->stale_channel = 0;  // channels of the old connection are gone with it
    if (!c->cancelled.load() && subscribe(c, &cst) != QPLUG_OK) {
      if (conn_.broken()) return sdk::fail(st, cst.code, true, "%s", cst.message);
      log(QPLUG_LOG_ERROR, std::string("re-subscribe after reconnect failed (will retry): ") + cst.message);
      schedule_resubscribe(c);
    }
  }
  return QPLUG_OK;
}

void Io::try_reconnect() {
  if (now_ns() < next_attempt_ns_) return;
  qplug_status st{};
  int32_t rc = conn_.open(cfg_, &st);
  if (rc == QPLUG_OK) rc = setup_session(&st);
  if (rc != QPLUG_OK) {
    conn_.mark_broken();
    conn_.close(0);
    int64_t delay = backoff_.next_ms();
    next_attempt_ns_ = now_ns() + delay * 1000000;
    log(QPLUG_LOG_WARN, std::string("reconnect failed (retry in ") + std::to_string(delay) + " ms): " + st.message);
    return;
  }
  backoff_.reset();
  log(QPLUG_LOG_INFO, "reconnected to " + cfg_.host + ":" + std::to_string(cfg_.port));
}

void Io::connection_lost(const std::string& why) {
  log(QPLUG_LOG_WARN, "connection lost: " + why);
  conn_.mark_broken();
  conn_.close(0);
  epoch_.fetch_add(1, std::memory_order_acq_rel);
  // In doubt: the broker may or may not have stored these. Report a retryable
  // error rather than claim success (the publisher may republish: at-least-once).
  std::deque<InFlight> lost = window_.take_all();
  for (InFlight& e : lost) {
    if (e.settled) continue;
    fail_batch(e.batch, QPLUG_UNAVAILABLE, true,
               "amqp: connection lost before the broker confirmed the message (" + why + ")");
    e.batch->settled++;
    maybe_complete(e.batch);
  }
  // Batches that had started sending are finished: their remainder is unsent.
  while (!pending_.empty() && pending_.front()->sent > 0) {
    auto b = pending_.front();
    pending_.pop_front();
    release_queued(b->msgs.size() - b->sent);
    fail_batch(b, QPLUG_UNAVAILABLE, true, "amqp: connection lost while publishing (" + why + ")");
    maybe_complete(b);
  }
  for (const auto& c : consumers_) {
    c->channel = 0;
    c->subscription.store(0);
    c->unsettled.clear();
    c->acks.clear();
  }
  by_channel_.clear();
  int64_t delay = backoff_.next_ms();
  next_attempt_ns_ = now_ns() + delay * 1000000;
}

// ---------------------------------------------------------------- loop

void Io::run() {
  while (true) {
    if (stopping_.load()) {
      bool drained = pending_.empty() && window_.empty() && commands_.empty();
      if (!connected() || drained || now_ns() >= stop_deadline_ns_) break;
    }
    if (!conn_.is_open() && !stopping_.load()) try_reconnect();
    for (Command& c : commands_.drain()) handle(c);
    // One pass's publishes and acks leave in as few segments as possible.
    conn_.cork(true);
    if (connected()) send_publishes();
    if (connected()) flush_acks(stopping_.load());
    conn_.cork(false);
    if (connected()) read_frames();
    if (connected()) resubscribe_due();
    // Saturating: publish_timeout may be up to 1e15 ms, and `* 1000000` wrapped
    // negative for the largest ones (every confirm looked overdue).
    if (connected() && !window_.empty() &&
        now_ns() - window_.front().sent_ns > sdk::ms_to_ns_saturating(cfg_.publish_timeout_ms))
      connection_lost("no publisher confirm within publish_timeout");
    if (conn_.is_open() && conn_.broken()) connection_lost("socket error");
    if (!connected()) expire_waiting_publishes();
    wait_for_activity();
  }
  shutdown();
}

bool Io::has_work_to_send() const {
  if (!pending_.empty() && window_.size() < cfg_.confirm_window) return true;
  int64_t now = now_ns();
  for (const auto& c : consumers_)
    if (acks_due(*c, now)) return true;
  return false;
}

void Io::wait_for_activity() {
  if (connected() && (amqp_frames_enqueued(conn_.get()) || amqp_data_in_buffer(conn_.get()))) return;
  // Confirms read in this pass may have opened the window for publishes that
  // are already queued (their publishers wait in reserve(), not on the
  // eventfd), and a republish confirm may have queued acks: sleeping here
  // would stall them until the idle timeout.
  if (connected() && has_work_to_send()) return;
  if (stopping_.load() && !connected()) return;
  pollfd fds[2] = {{commands_.wakeup_fd(), POLLIN, 0}, {conn_.is_open() ? conn_.fd() : -1, POLLIN, 0}};
  int timeout = amqp_idle_poll_ms;
  for (const auto& c : consumers_)
    if (!c->acks.empty() && c->channel != 0) timeout = 1;  // held acks fall due within AckCoalescer::kDelayNs
  if (!conn_.is_open()) {
    int64_t until = (next_attempt_ns_ - now_ns()) / 1000000;
    timeout = static_cast<int>(std::clamp<int64_t>(until, 0, amqp_idle_poll_ms));
  }
  ::poll(fds, 2, timeout);
}

void Io::shutdown() {
  for (Command& c : commands_.drain()) {
    if (c.kind == Command::kPublish) {
      pending_.push_back(c.batch);
    } else if (c.kind == Command::kSettle) {
      delete c.delivery;
    } else if (c.done) {
      c.done->complete(amqp_make_status(QPLUG_CANCELED, false, "amqp: driver is closing"), 0);
    }
  }
  for (InFlight& e : window_) {
    if (e.settled) continue;
    fail_batch(e.batch, QPLUG_CANCELED, true, "amqp: driver closed before the broker confirmed the message");
    e.batch->settled++;
    maybe_complete(e.batch);
  }
  window_.clear();
  while (!pending_.empty()) {
    auto b = pending_.front();
    pending_.pop_front();
    release_queued(b->msgs.size() - b->sent);
    fail_batch(b, QPLUG_CANCELED, true, "amqp: driver closed before the message was sent");
    maybe_complete(b);
  }
  int64_t left_ms = (stop_deadline_ns_ - now_ns()) / 1000000;
  conn_.close(static_cast<uint32_t>(std::clamp<int64_t>(left_ms, connected() ? 1 : 0, 2000)));
}

// ---------------------------------------------------------------- commands

void Io::handle(Command& c) {
  qplug_status st{};
  switch (c.kind) {
    case Command::kPublish:
      pending_.push_back(c.batch);
      return;
    case Command::kSettle:
      handle_settle(c.delivery, c.disposition);
      return;
    case Command::kDeclare:
    case Command::kInspect: {
      if (!connected()) {
        sdk::fail(&st, QPLUG_UNAVAILABLE, true, "amqp: not connected to %s:%d (reconnecting)", cfg_.host.c_str(),
                  cfg_.port);
        break;
      }
      bool passive = c.kind == Command::kInspect;
      int64_t messages = -1, consumers = -1;
      int32_t rc = passive ? conn_.declare(amqp_control_channel, c.queue->name, c.queue->options, true, &messages,
                                           &consumers, &st)
                           : declare_topology(c.queue, &st);
      if (rc == QPLUG_OK) {
        if (!passive) topology_.push_back(c.queue);
        if (c.info != nullptr) {
          c.info->messages = messages;
          c.info->consumers = consumers;
          c.info->in_flight = -1;
        }
      }
      break;
    }
    case Command::kSubscribe:
      consumers_.push_back(c.consumer);
      if (connected() && subscribe(c.consumer, &st) != QPLUG_OK && !conn_.broken()) consumers_.pop_back();
      if (conn_.broken()) sdk::set_ok(&st);  // re-subscribed after the reconnect
      break;
    case Command::kUnsubscribe:
      unsubscribe(c.consumer);
      break;
  }
  if (c.done) c.done->complete(st, 0);
}

uint16_t Io::take_channel() {
  if (!free_channels_.empty()) {
    uint16_t ch = free_channels_.back();
    free_channels_.pop_back();
    return ch;
  }
  return next_channel_++;
}

int32_t Io::declare_topology(qplug_queue* q, qplug_status* st) {
  int32_t rc = conn_.declare(amqp_control_channel, q->name, q->options, false, nullptr, nullptr, st);
  if (rc == QPLUG_OK) rc = conn_.declare_fanout(amqp_control_channel, q->exchange, q->options.durable, st);
  if (rc == QPLUG_OK) rc = conn_.bind(amqp_control_channel, q->name, q->exchange, st);
  return rc;
}

int32_t Io::ensure_delay_queue(qplug_queue* q, int64_t level_ms, qplug_status* st) {
  int64_t now = now_ns();
  auto it = q->delay_declared_ns.find(level_ms);
  if (it != q->delay_declared_ns.end() && now - it->second < kDelayRedeclareMs * 1000000) return QPLUG_OK;
  QueueOptions level;
  level.durable = q->options.durable;
  level.message_ttl_ms = level_ms;
  level.queue_expiry_ms = level_ms + kDelayQueueIdleMs;
  level.dead_letter_exchange = q->exchange;
  int32_t rc =
      conn_.declare(amqp_control_channel, delay_queue_name(q->name, level_ms), level, false, nullptr, nullptr, st);
  if (rc == QPLUG_OK) q->delay_declared_ns[level_ms] = now;
  return rc;
}

int32_t Io::subscribe(const std::shared_ptr<ConsumerState>& c, qplug_status* st) {
  if (!is_default_group(c->queue->name, c->group)) {
    // A group's own queue, with the options of the queue it copies, bound to
    // the queue's exchange: from now on it gets every message (idempotent).
    int32_t rc = conn_.declare(amqp_control_channel, c->source, c->queue->options, false, nullptr, nullptr, st);
    if (rc == QPLUG_OK) rc = conn_.bind(amqp_control_channel, c->source, c->queue->exchange, st);
    if (rc != QPLUG_OK) return rc;
  }
  uint16_t ch = take_channel();
  int32_t rc = conn_.open_channel(ch, st);
  std::string tag;
  if (rc == QPLUG_OK)
    rc = conn_.consume(ch, c->source, c->prefetch, c->options.consumer_tag, c->options.exclusive, &tag, st);
  if (rc != QPLUG_OK) {
    if (!conn_.broken()) {
      qplug_status ignored{};
      conn_.close_channel(ch, &ignored);
      free_channels_.push_back(ch);
    }
    return rc;
  }
  c->options.consumer_tag = tag;  // keep the broker's tag so a re-subscribe reuses it
  c->channel = ch;
  c->subscription.store(next_subscription_++);
  c->unsettled.clear();
  c->acks.clear();
  by_channel_[ch] = c;
  return QPLUG_OK;
}

void Io::unsubscribe(const std::shared_ptr<ConsumerState>& c) {
  c->cancelled.store(true);
  c->resubscribe_pending = false;
  if (c->stale_channel != 0 && connected()) {
    qplug_status ignored{};
    if (conn_.close_channel(c->stale_channel, &ignored) == QPLUG_OK) free_channels_.push_back(c->stale_channel);
  }
  c->stale_channel = 0;
  if (c->channel != 0 && connected()) {
    flush_acks(true);  // settles the host made before unsubscribing still count
    qplug_status ignored{};
    conn_.cancel(c->channel, c->options.consumer_tag, &ignored);
    // Closing the channel hands every unacked delivery back to the broker.
    if (conn_.close_channel(c->channel, &ignored) == QPLUG_OK) free_channels_.push_back(c->channel);
    by_channel_.erase(c->channel);
  }
  c->channel = 0;
  c->unsettled.clear();
  c->acks.clear();
  consumers_.erase(std::remove(consumers_.begin(), consumers_.end(), c), consumers_.end());
}

void Io::handle_settle(qplug_delivery* d, int32_t disposition) {
  std::unique_ptr<qplug_delivery> owned(d);
  ConsumerState& c = *d->consumer;
  // A delivery of an earlier connection or subscription is the broker's again.
  if (!connected() || c.channel == 0 || c.subscription != d->subscription) return;
  amqp_connection_state_t conn = conn_.get();
  if (disposition == QPLUG_ACK) {
    queue_ack(c, d->tag);
  } else if (disposition == kGiveBack) {
    c.unsettled.erase(d->tag);
    if (amqp_basic_reject(conn, c.channel, d->tag, 1) != AMQP_STATUS_OK) conn_.mark_broken();
  } else if (disposition == QPLUG_REJECT) {
    c.unsettled.erase(d->tag);  // requeue=false: dead-lettered when the queue has a DLX
    if (amqp_basic_reject(conn, c.channel, d->tag, 0) != AMQP_STATUS_OK) conn_.mark_broken();
  } else {
    // NACK_REQUEUE: republish a copy carrying attempts+1, and ack the
    // original only once the copy is confirmed. If the copy fails, nack the
    // original back to the queue. Either way nothing is lost.
    auto b = std::make_shared<PublishBatch>();
    b->queue = c.queue;
    b->attempts = d->message.attempts + 1;
    b->immediate = true;
    b->msgs.push_back(std::move(d->message));
    b->ok.assign(1, 0);
    b->deadline_ns = sdk::deadline_ns_after(now_ns(), cfg_.publish_timeout_ms);  // saturates, as publish() does
    std::weak_ptr<ConsumerState> weak = d->consumer;
    uint64_t tag = d->tag, sub = d->subscription;
    b->internal = [this, weak, tag, sub](const qplug_status& st) {
      auto cs = weak.lock();
      if (!cs || cs->subscription != sub || cs->channel == 0 || !connected()) return;
      if (st.code == QPLUG_OK) {
        queue_ack(*cs, tag);
      } else {
        cs->unsettled.erase(tag);
        if (amqp_basic_nack(conn_.get(), cs->channel, tag, 0, 1) != AMQP_STATUS_OK) conn_.mark_broken();
      }
    };
    {
      std::lock_guard<std::mutex> lock(queued_mu_);
      queued_ += 1;  // accounted like any queued message, but never waits here
    }
    pending_.push_back(std::move(b));
  }
}

// ---------------------------------------------------------------- publishing

void Io::send_publishes() {
  amqp_connection_state_t conn = conn_.get();
  OutgoingProperties props;
  size_t sent_now = 0;
  while (!pending_.empty() && window_.size() < cfg_.confirm_window) {
    std::shared_ptr<PublishBatch> b = pending_.front();
    if (b->failed || b->sent == b->msgs.size()) {
      pending_.pop_front();
      release_queued(b->msgs.size() - b->sent);
      maybe_complete(b);
      continue;
    }
    const sdk::OwnedMessage& m = b->msgs[b->sent];
    qplug_queue& q = *b->queue;
    std::string bad = props.build(m, q.options.persistent, cfg_.default_message_ttl_ms, b->attempts,
                                  q.options.max_priority > 0, !b->immediate);
    if (!bad.empty()) {  // validated in publish(); kept as a guard
      fail_batch(b, QPLUG_INVALID, false, "amqp: " + bad);
      continue;
    }
    // Due now: to the queue's fanout exchange (every group). Delayed: to its
    // delay level queue through the default exchange; it dead-letters into
    // the same exchange when due.
    int64_t level = props.delay_ms() > 0 ? delay_level_ms(props.delay_ms()) : 0;
    std::string delay_queue;
    if (level > 0) {
      delay_queue = delay_queue_name(q.name, level);
      conn_.cork(false);  // the declare RPC must not sit in a corked segment
      qplug_status dst{};
      int32_t drc = ensure_delay_queue(&q, level, &dst);
      conn_.cork(true);
      if (conn_.broken()) break;
      if (drc != QPLUG_OK) {
        fail_batch(b, dst.code, (dst.flags & QPLUG_STATUS_RETRYABLE) != 0, dst.message);
        continue;
      }
    }
    const std::string& key = level > 0 ? delay_queue : q.name;
    amqp_bytes_t ex =
        level > 0 ? amqp_empty_bytes : amqp_bytes_t{q.exchange.size(), const_cast<char*>(q.exchange.data())};
    amqp_bytes_t rk{key.size(), const_cast<char*>(key.data())};
    amqp_bytes_t body{m.body.size(), const_cast<char*>(m.body.data())};
    // mandatory=1: a message no queue takes comes back as basic.return
    // (an error for the publisher) instead of vanishing.
    int rc = amqp_basic_publish(conn, amqp_publish_channel, ex, rk, 1, 0, props.get(), body);
    if (rc != AMQP_STATUS_OK) {
      conn_.mark_broken();
      break;
    }
    window_.push(InFlight{b, b->sent, now_ns(), level});
    b->sent++;
    sent_now++;
    if (b->sent == b->msgs.size()) pending_.pop_front();
  }
  if (sent_now > 0) release_queued(sent_now);
}

void Io::expire_waiting_publishes() {
  int64_t now = now_ns();
  for (auto it = pending_.begin(); it != pending_.end();) {
    auto b = *it;
    if (b->sent == 0 && now >= b->deadline_ns) {
      it = pending_.erase(it);
      release_queued(b->msgs.size());
      fail_batch(b, QPLUG_UNAVAILABLE, true,
                 "amqp: broker " + cfg_.host + ":" + std::to_string(cfg_.port) + " unreachable (publish_timeout)");
      maybe_complete(b);
    } else {
      ++it;
    }
  }
}

void Io::fail_batch(const std::shared_ptr<PublishBatch>& b, int32_t code, bool retryable, const std::string& why) {
  if (b->failed) return;
  b->failed = true;
  sdk::fail(&b->failure, code, retryable, "%s", why.c_str());
}

void Io::maybe_complete(const std::shared_ptr<PublishBatch>& b) {
  if (b->completed || b->settled < b->sent) return;
  if (b->sent < b->msgs.size() && !b->failed) return;
  // Unsent remainder of a failed batch is out of the pipeline: it is done.
  // Only such a batch can still be in pending_ (a fully sent one was popped
  // when its last message went out), so the common case skips the scan,
  // which would otherwise cost O(pending) per confirmed batch.
  if (b->sent < b->msgs.size()) {
    auto it = std::find(pending_.begin(), pending_.end(), b);
    if (it != pending_.end()) {
      release_queued(b->msgs.size() - b->sent);
      pending_.erase(it);
    }
  }
  b->completed = true;
  size_t accepted = 0;
  while (accepted < b->msgs.size() && b->ok[accepted]) ++accepted;
  qplug_status st{};
  if (accepted < b->msgs.size()) {
    st = b->failure;
    if (!b->failed) sdk::fail(&st, QPLUG_INTERNAL, false, "amqp: message not confirmed");
  }
  if (b->internal) b->internal(st);
  if (b->waiter) b->waiter->complete(st, accepted);
  if (b->done != nullptr) b->done(b->done_ud, &st, accepted);
}

void Io::settle_entry(InFlight& e, bool ok) {
  if (e.settled) return;
  e.settled = true;
  auto& b = e.batch;
  if (e.returned) {
    // failure already recorded by on_return
  } else if (ok) {
    b->ok[e.index] = 1;
  } else {
    fail_batch(b, QPLUG_FULL, true, "amqp: the broker refused (nacked) the message for queue '" + b->queue->name + "'");
  }
  b->settled++;
  maybe_complete(b);
}

void Io::on_confirm(uint64_t tag, bool multiple, bool ok) {
  window_.confirm(tag, multiple, ok, [this](InFlight& e, bool confirmed) { settle_entry(e, confirmed); });
}

void Io::on_return(uint16_t ch, const amqp_basic_return_t& m) {
  amqp_message_t msg;
  amqp_rpc_reply_t r = amqp_read_message(conn_.get(), ch, &msg, 0);
  if (r.reply_type != AMQP_RESPONSE_NORMAL) {
    conn_.mark_broken();
    return;
  }
  std::string rk(static_cast<const char*>(m.routing_key.bytes), m.routing_key.len);
  std::string id =
      (msg.properties._flags & AMQP_BASIC_MESSAGE_ID_FLAG)
          ? std::string(static_cast<const char*>(msg.properties.message_id.bytes), msg.properties.message_id.len)
          : std::string();
  std::string text(static_cast<const char*>(m.reply_text.bytes), m.reply_text.len);
  amqp_destroy_message(&msg);
  // The return precedes the confirm of the same message, so it is the first
  // unconfirmed, not yet returned entry with this queue and message ID.
  for (InFlight& e : window_) {
    const std::string& name = e.batch->queue->name;
    bool same_key = e.delay_level_ms > 0 ? rk == delay_queue_name(name, e.delay_level_ms) : rk == name;
    if (e.settled || e.returned || !same_key || e.batch->msgs[e.index].id != id) continue;
    e.returned = true;
    fail_batch(
        e.batch, QPLUG_NOT_FOUND, false,
        "amqp: message returned by the broker: " + std::to_string(m.reply_code) + " " + text + " (queue '" + rk + "')");
    return;
  }
}

// ---------------------------------------------------------------- consuming

void Io::queue_ack(ConsumerState& c, uint64_t tag) { c.acks.add(tag, now_ns()); }

// When held acks go out and how they are packed: amqp_ack_coalescer.hpp.
bool Io::acks_due(const ConsumerState& c, int64_t now) const {
  return c.channel != 0 && c.acks.due(c.unsettled.size(), c.prefetch, now);
}

void Io::flush_acks(bool force) {
  amqp_connection_state_t conn = conn_.get();
  int64_t now = now_ns();
  for (const auto& c : consumers_) {
    if (c->acks.empty() || c->channel == 0) continue;
    if (!force && !acks_due(*c, now)) continue;
    for (const AckCoalescer::Frame& f : c->acks.take(c->unsettled))
      if (amqp_basic_ack(conn, c->channel, f.tag, f.multiple ? 1 : 0) != AMQP_STATUS_OK) conn_.mark_broken();
    if (conn_.broken()) return;
  }
}

void Io::read_frames() {
  amqp_connection_state_t conn = conn_.get();
  for (int n = 0; n < amqp_frames_per_pass && connected(); ++n) {
    amqp_frame_t f;
    timeval zero{0, 0};
    int rc = amqp_simple_wait_frame_noblock(conn, &f, &zero);
    if (rc == AMQP_STATUS_TIMEOUT) break;
    if (rc != AMQP_STATUS_OK) {
      connection_lost(amqp_error_string2(rc));
      return;
    }
    handle_frame(f);
    if (conn_.broken()) return;
  }
  if (connected()) amqp_maybe_release_buffers(conn);
}

void Io::handle_frame(const amqp_frame_t& f) {
  if (f.frame_type != AMQP_FRAME_METHOD) return;  // stray content: nothing expects it
  void* decoded = f.payload.method.decoded;
  switch (f.payload.method.id) {
    case AMQP_BASIC_ACK_METHOD: {
      auto* m = static_cast<amqp_basic_ack_t*>(decoded);
      if (f.channel == amqp_publish_channel) on_confirm(m->delivery_tag, m->multiple, true);
      break;
    }
    case AMQP_BASIC_NACK_METHOD: {
      auto* m = static_cast<amqp_basic_nack_t*>(decoded);
      if (f.channel == amqp_publish_channel) on_confirm(m->delivery_tag, m->multiple, false);
      break;
    }
    case AMQP_BASIC_RETURN_METHOD:
      on_return(f.channel, *static_cast<amqp_basic_return_t*>(decoded));
      break;
    case AMQP_BASIC_DELIVER_METHOD:
      on_deliver(f.channel, *static_cast<amqp_basic_deliver_t*>(decoded));
      break;
    case AMQP_BASIC_CANCEL_METHOD:
      on_broker_cancel(f.channel);
      break;
    case AMQP_CHANNEL_CLOSE_METHOD: {
      auto* m = static_cast<amqp_channel_close_t*>(decoded);
      std::string text(static_cast<const char*>(m->reply_text.bytes), m->reply_text.len);
      // Simplest correct recovery: start a fresh connection, which fails
      // in-flight publishes (retryable) and re-subscribes every consumer.
      connection_lost("broker closed channel " + std::to_string(f.channel) + ": " + std::to_string(m->reply_code) +
                      " " + text);
      break;
    }
    case AMQP_CONNECTION_CLOSE_METHOD: {
      auto* m = static_cast<amqp_connection_close_t*>(decoded);
      std::string text(static_cast<const char*>(m->reply_text.bytes), m->reply_text.len);
      amqp_connection_close_ok_t ok{};
      amqp_send_method(conn_.get(), 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
      connection_lost("broker closed the connection: " + std::to_string(m->reply_code) + " " + text);
      break;
    }
    case AMQP_CONNECTION_BLOCKED_METHOD:
      log(QPLUG_LOG_WARN, "broker blocked publishing (resource alarm)");
      break;
    case AMQP_CONNECTION_UNBLOCKED_METHOD:
      log(QPLUG_LOG_INFO, "broker unblocked publishing");
      break;
    default:
      break;
  }
}

void Io::on_deliver(uint16_t ch, const amqp_basic_deliver_t& m) {
  uint64_t tag = m.delivery_tag;
  bool redelivered = m.redelivered != 0;
  amqp_message_t msg;
  amqp_rpc_reply_t r = amqp_read_message(conn_.get(), ch, &msg, 0);
  if (r.reply_type != AMQP_RESPONSE_NORMAL) {
    conn_.mark_broken();
    return;
  }
  auto it = by_channel_.find(ch);
  if (it == by_channel_.end() || it->second->cancelled.load()) {
    // Not ours any more: the channel close / a requeue gives it back.
    amqp_destroy_message(&msg);
    if (it == by_channel_.end() && amqp_basic_reject(conn_.get(), ch, tag, 1) != AMQP_STATUS_OK) conn_.mark_broken();
    return;
  }
  const auto& c = it->second;
  auto* d = new qplug_delivery();
  d->consumer = c;
  d->tag = tag;
  d->subscription = c->subscription;
  d->epoch = epoch();
  read_incoming(msg, redelivered, &d->message);
  amqp_destroy_message(&msg);
  c->unsettled.insert(tag);
  const qplug_message& view = d->message.view();
  c->deliver(c->host_ud, d, &view);  // may settle() right here: settle only enqueues
}

// ---------------------------------------------------------------- broker cancel

// The broker cancelled one of our consumers (consumer_cancel_notify): its
// queue was deleted, or a quorum queue's leader moved. The consumer must not
// stay silently dead, so it is re-subscribed with backoff. Its deliveries
// still unsettled are given back by closing its channel (the queue, if it
// still exists, redelivers them to the new subscription); settling them
// answers UNAVAILABLE from now on.
void Io::on_broker_cancel(uint16_t ch) {
  auto it = by_channel_.find(ch);
  if (it == by_channel_.end()) return;
  std::shared_ptr<ConsumerState> c = it->second;
  by_channel_.erase(it);
  c->subscription.store(0);
  c->channel = 0;
  c->stale_channel = ch;  // closed from the loop: no RPC in the middle of reading frames
  c->unsettled.clear();
  c->acks.clear();
  log(QPLUG_LOG_WARN, "broker cancelled the consumer of queue '" + c->queue->name +
                          "' (queue deleted or its leader moved); re-subscribing");
  schedule_resubscribe(c);
}

void Io::schedule_resubscribe(const std::shared_ptr<ConsumerState>& c) {
  if (!c->resubscribe_backoff)
    c->resubscribe_backoff = std::make_unique<sdk::Backoff>(cfg_.reconnect_delay_ms, cfg_.reconnect_max_delay_ms);
  c->resubscribe_pending = true;
  c->resubscribe_at_ns = now_ns() + c->resubscribe_backoff->next_ms() * 1000000;
}

void Io::resubscribe_due() {
  int64_t now = now_ns();
  for (const auto& c : consumers_) {
    if (c->stale_channel != 0) {
      qplug_status ignored{};
      if (conn_.close_channel(c->stale_channel, &ignored) == QPLUG_OK) free_channels_.push_back(c->stale_channel);
      c->stale_channel = 0;
      if (conn_.broken()) return;
    }
    if (!c->resubscribe_pending || c->cancelled.load() || now < c->resubscribe_at_ns) continue;
    // Declared again as after a reconnect: a deleted queue comes back with
    // the options it was declared with (a no-op when it exists).
    qplug_status st{};
    if (declare_topology(c->queue, &st) != QPLUG_OK) {
      if (conn_.broken()) return;
      log(QPLUG_LOG_WARN, std::string("re-declare before re-subscribing failed: ") + st.message);
    }
    if (subscribe(c, &st) == QPLUG_OK) {
      c->resubscribe_pending = false;
      c->resubscribe_backoff->reset();
      log(QPLUG_LOG_INFO, "re-subscribed to queue '" + c->queue->name + "'");
      continue;
    }
    if (conn_.broken()) return;
    schedule_resubscribe(c);
    log(QPLUG_LOG_WARN, std::string("re-subscribe failed (will retry): ") + st.message);
  }
}

}  // namespace qplug::amqp
