// rstream_subscription.cpp -- the consumer-group reader of one subscription.
#include "rstream_subscription.hpp"

#include <pthread.h>

#include <algorithm>
#include <qplug/sdk/host_log.hpp>
#include <qplug/sdk/status.hpp>
#include <qplug/sdk/waiter.hpp>

#include "rstream_delay.hpp"
#include "rstream_fields.hpp"
#include "rstream_replies.hpp"
#include "rstream_sigpipe.hpp"

namespace qplug::rstream {

namespace {
// Pending entries handed back by unsubscribe() get this idle time, so any
// other consumer's next XAUTOCLAIM sweep takes them at once (JUSTID keeps
// the delivery counter unchanged).
constexpr const char* kReleasedIdleMs = "31536000000";  // one year

// With fewer than half the prefetch slots free, the reader waits up to this
// long for more settlements before reading: one XREADGROUP per half prefetch
// instead of one per settled message when handlers run on other threads.
constexpr auto kRefillWindow = std::chrono::milliseconds(2);

// Most delayed messages one move_due() script moves: bounds how long the
// script keeps Redis busy; more due messages are moved by the next call.
constexpr int64_t kMoveBatch = 512;

}  // namespace

Subscription::Subscription(std::shared_ptr<Writer> writer, const DriverSettings& settings, const qplug_host_v1* host,
                           SubscriptionParams params)
    : writer_(std::move(writer)),
      settings_(settings),
      log_(host, "redis"),
      p_(std::move(params)),
      backoff_(settings.reconnect_initial_ms, settings.reconnect_max_ms),
      writer_acks_(std::make_shared<AckBatch>(p_.key, p_.group)) {}

Subscription::~Subscription() {
  qplug_status st = sdk::make_status();
  unsubscribe(&st);
}

bool Subscription::start(qplug_status* st) {
  {
    SigpipeBlock on_host_thread;
    if (!connect(st)) return false;
  }
  thread_ = std::thread([this] { run(); });
  return true;
}

bool Subscription::connect(qplug_status* st) {
  if (!conn_.connect(settings_.endpoint, p_.options.block_ms, st)) return false;
  Reply id = conn_.command({"CLIENT", "ID"}, st);
  if (!id) return false;
  client_id_ = id->type == REDIS_REPLY_INTEGER ? id->integer : 0;
  if (!ensure_group(st)) return false;
  history_ = true;
  history_cursor_.clear();  // "0": from the start of our pending list
  history_cursor_.push_back('0');
  next_claim_ = Clock::now();
  next_move_ = Clock::now();
  return true;
}

bool Subscription::ensure_group(qplug_status* st) {
  // A new group starts at ID 0, so entries published before the first
  // consumer subscribed are delivered too (nothing is lost).
  Reply r = conn_.command({"XGROUP", "CREATE", p_.key, p_.group, "0", "MKSTREAM"}, st);
  if (!r) return false;
  if (r->type == REDIS_REPLY_ERROR && reply_text(r.get()).substr(0, 9) != "BUSYGROUP") {
    fail_reply(st, r.get(), "XGROUP CREATE");
    conn_.reset();
    return false;
  }
  return true;
}

uint32_t Subscription::room() {
  std::lock_guard lock(mu_);
  return held_.size() >= p_.prefetch ? 0 : p_.prefetch - static_cast<uint32_t>(held_.size());
}

void Subscription::sleep_for(int64_t ms) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return stop_; });
}

void Subscription::run() {
  pthread_setname_np(pthread_self(), "qplug-redis-rd");  // visible in top -H, perf, gdb
  block_sigpipe_for_this_thread();
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stop_) break;
    }
    if (!conn_.connected()) {
      qplug_status st = sdk::make_status();
      if (!connect(&st)) {
        if (backoff_.failures() == 0)
          log_.log(QPLUG_LOG_WARN, "consumer %s/%s: %s; reconnecting with backoff", p_.group.c_str(),
                   p_.consumer.c_str(), st.message);
        sleep_for(backoff_.next_ms());
        continue;
      }
      if (backoff_.failures() > 0)
        log_.log(QPLUG_LOG_INFO, "consumer %s/%s reconnected", p_.group.c_str(), p_.consumer.c_str());
      backoff_.reset();
    }
    if (!step()) conn_.reset();
  }
  conn_.reset();
}

bool Subscription::step() {
  if (!redeliver_nacked()) return false;
  if (Clock::now() >= next_move_ && !move_due()) return false;
  uint32_t free = room();
  if (free > 0 && history_) return read_history(free);
  if (free > 0 && Clock::now() >= next_claim_) return claim_idle(free);
  if (wait_for_room(free)) return true;
  return read_new(free);
}

bool Subscription::wait_for_room(uint32_t free) {
  uint32_t want = std::max<uint32_t>(1, p_.prefetch / 2);
  if (free >= want || (free > 0 && window_used_)) {
    window_used_ = false;
    return false;
  }
  // Prefetch reached: wait for one settlement (up to a poll). Some room but
  // little: give the host a short window to settle more (never longer, so a
  // host that keeps most deliveries still gets new ones).
  size_t target = free == 0 ? p_.prefetch - 1 : p_.prefetch - want;
  auto limit = free == 0 ? std::chrono::milliseconds(p_.options.block_ms) : kRefillWindow;
  std::unique_lock lock(mu_);
  reader_waiting_ = true;
  wake_at_held_ = target;
  cv_.wait_for(lock, limit, [&] { return stop_ || !nacked_.empty() || held_.size() <= target; });
  reader_waiting_ = false;
  if (free > 0) window_used_ = true;
  return true;
}

Reply Subscription::command(const std::vector<std::string_view>& argv, bool blocking, qplug_status* st) {
  std::vector<std::string> acks;
  {
    std::lock_guard lock(mu_);
    acks.swap(acks_);
    reading_ = blocking;
  }
  bool sent = true;
  if (!acks.empty()) {
    FormattedCommand xack = AckBatch::format_xack(p_.key, p_.group, acks);
    sent = conn_.append_formatted(xack.data(), xack.size());
  }
  sent = sent && conn_.append(argv);
  bool acked = acks.empty();
  Reply r;
  if (!sent) {
    conn_.fail_io(st);
  } else {
    if (!acked) {
      Reply a = conn_.read_reply(st);
      acked = a != nullptr;
      if (a && a->type == REDIS_REPLY_ERROR)  // e.g. NOGROUP: the entries are no longer pending anyway
        log_.log(QPLUG_LOG_WARN, "XACK of %zu entries failed: %s", acks.size(), reply_text(a.get()).data());
    }
    if (acked) r = conn_.read_reply(st);
  }
  std::lock_guard lock(mu_);
  reading_ = false;
  if (!acked)  // connection lost before the reply: XACK is idempotent, send them again
    acks_.insert(acks_.begin(), std::make_move_iterator(acks.begin()), std::make_move_iterator(acks.end()));
  return r;
}

bool Subscription::redeliver_nacked() {
  std::vector<std::pair<std::string, uint32_t>> batch;
  {
    std::lock_guard lock(mu_);
    batch.swap(nacked_);
  }
  if (batch.empty()) return true;
  // XCLAIM (min idle 0) to ourselves increments the broker's delivery counter.
  std::vector<std::string_view> argv{"XCLAIM", p_.key, p_.group, p_.consumer, "0"};
  std::unordered_map<std::string, uint32_t> attempts;
  for (auto& [id, n] : batch) {
    argv.push_back(id);
    attempts[id] = n + 1;
  }
  qplug_status st = sdk::make_status();
  Reply r = command(argv, false, &st);
  if (!r) {  // still pending in the broker: put them back for the next try
    std::lock_guard lock(mu_);
    nacked_.insert(nacked_.end(), batch.begin(), batch.end());
    return false;
  }
  {
    std::lock_guard lock(mu_);
    for (auto& [id, n] : batch) held_.erase(id);  // re-added by deliver_entries if still there
  }
  if (r->type == REDIS_REPLY_ERROR) {
    log_.log(QPLUG_LOG_ERROR, "XCLAIM for redelivery failed: %s (entries stay pending, reclaimed after claim_idle)",
             reply_text(r.get()).data());
    return true;
  }
  const redisReply* entries = r.get();
  return deliver_entries(SharedReply(std::move(r)), entries, false, &attempts);
}

bool Subscription::read_history(uint32_t free) {
  std::string count = std::to_string(free);
  qplug_status st = sdk::make_status();
  Reply r = command({"XREADGROUP", "GROUP", p_.group, p_.consumer, "COUNT", count, "STREAMS", p_.key, history_cursor_},
                    false, &st);
  if (!r) return false;
  if (r->type == REDIS_REPLY_ERROR) {
    if (reply_text(r.get()).substr(0, 7) == "NOGROUP") return ensure_group(&st);
    log_.log(QPLUG_LOG_ERROR, "XREADGROUP (pending) failed: %s", reply_text(r.get()).data());
    history_ = false;
    return true;
  }
  const redisReply* entries = xread_entries(r.get());
  if (!is_array(entries) || entries->elements == 0) {
    history_ = false;
    return true;
  }
  history_cursor_ = std::string(entry_id_of(entries->element[entries->elements - 1]));
  return deliver_entries(SharedReply(std::move(r)), entries, true, nullptr);
}

bool Subscription::claim_idle(uint32_t free) {
  std::string idle = std::to_string(p_.options.claim_idle_ms), count = std::to_string(free);
  qplug_status st = sdk::make_status();
  Reply r = command({"XAUTOCLAIM", p_.key, p_.group, p_.consumer, idle, claim_cursor_, "COUNT", count}, false, &st);
  if (!r) return false;
  std::string_view cursor;
  const redisReply* entries = nullptr;
  if (!xautoclaim_parts(r.get(), &cursor, &entries)) {
    if (reply_text(r.get()).substr(0, 7) == "NOGROUP") return ensure_group(&st);
    log_.log(QPLUG_LOG_ERROR, "XAUTOCLAIM failed: %s", reply_text(r.get()).data());
    next_claim_ = Clock::now() + std::chrono::milliseconds(p_.options.claim_idle_ms);
    return true;
  }
  claim_cursor_ = std::string(cursor);
  if (claim_cursor_ == "0-0") {  // swept the whole PEL: next sweep after a while
    int64_t interval = std::clamp<int64_t>(p_.options.claim_idle_ms / 2, 50, 5000);
    next_claim_ = Clock::now() + std::chrono::milliseconds(interval);
  }
  return deliver_entries(SharedReply(std::move(r)), entries, true, nullptr);
}

bool Subscription::move_due() {
  static const std::string kBatch = std::to_string(kMoveBatch);
  const std::string maxlen = std::to_string(p_.maxlen);
  qplug_status st = sdk::make_status();
  Reply r = command({"EVAL", kMoveScript, "3", p_.delayed_set, p_.delayed_msgs, p_.key, kBatch, maxlen}, false, &st);
  if (!r) return false;
  const auto now = Clock::now();
  const auto poll = std::chrono::milliseconds(p_.options.block_ms);
  if (!is_array(r.get()) || r->elements != 3 || r->element[0]->type != REDIS_REPLY_INTEGER ||
      r->element[1]->type != REDIS_REPLY_INTEGER || r->element[2]->type != REDIS_REPLY_INTEGER) {
    log_.log(QPLUG_LOG_ERROR, "stream %s: moving due delayed messages failed: %s (retried in %lld ms)", p_.key.c_str(),
             r->type == REDIS_REPLY_ERROR ? reply_text(r.get()).data() : "unexpected reply",
             static_cast<long long>(p_.options.block_ms));
    next_move_ = now + poll;
    return true;
  }
  const long long moved = r->element[0]->integer, next_due = r->element[1]->integer,
                  server_now = r->element[2]->integer;
  if (moved >= kMoveBatch) {
    next_move_ = now;  // more are due: move them before the next read
  } else if (next_due < 0) {
    next_move_ = now + poll;  // none known; another process may schedule some
  } else {
    // Wait for the next due time on the server's clock, at most one poll.
    next_move_ = now + std::min<std::chrono::milliseconds>(
                           std::chrono::milliseconds(std::max<long long>(0, next_due - server_now)), poll);
  }
  return true;
}

bool Subscription::read_new(uint32_t free) {
  auto until_claim = std::chrono::duration_cast<std::chrono::milliseconds>(next_claim_ - Clock::now()).count();
  auto until_move = std::chrono::duration_cast<std::chrono::milliseconds>(next_move_ - Clock::now()).count();
  int64_t block_ms = std::clamp<int64_t>(std::min(until_claim, until_move), 1, p_.options.block_ms);
  std::string count = std::to_string(free), block = std::to_string(block_ms);
  qplug_status st = sdk::make_status();
  blocked_client_.store(client_id_);
  Reply r =
      command({"XREADGROUP", "GROUP", p_.group, p_.consumer, "COUNT", count, "BLOCK", block, "STREAMS", p_.key, ">"},
              true, &st);
  blocked_client_.store(0);
  if (!r) return false;
  if (r->type == REDIS_REPLY_ERROR) {
    if (reply_text(r.get()).substr(0, 7) == "NOGROUP") return ensure_group(&st);
    log_.log(QPLUG_LOG_ERROR, "XREADGROUP failed: %s", reply_text(r.get()).data());
    sleep_for(std::min<int64_t>(block_ms, 1000));
    return true;
  }
  const redisReply* entries = xread_entries(r.get());
  if (entries == nullptr) return true;  // timed out (nil) or unblocked
  static const std::unordered_map<std::string, uint32_t> kNone;
  return deliver_entries(SharedReply(std::move(r)), entries, false, &kNone);
}

bool Subscription::pending_counts(const std::string& first, const std::string& last, size_t n,
                                  std::unordered_map<std::string, uint32_t>* out) {
  std::string count = std::to_string(n);
  qplug_status st = sdk::make_status();
  Reply r = command({"XPENDING", p_.key, p_.group, first, last, count, p_.consumer}, false, &st);
  if (!r) return false;
  if (!is_array(r.get())) return true;
  for (size_t i = 0; i < r->elements; ++i) {
    const redisReply* e = r->element[i];
    if (is_array(e) && e->elements >= 4 && e->element[3]->type == REDIS_REPLY_INTEGER)
      (*out)[std::string(reply_text(e->element[0]))] = static_cast<uint32_t>(e->element[3]->integer);
  }
  return true;
}

bool Subscription::deliver_entries(const SharedReply& reply, const redisReply* entries, bool ask_counts,
                                   const std::unordered_map<std::string, uint32_t>* known) {
  if (!is_array(entries) || entries->elements == 0) return true;
  std::unordered_map<std::string, uint32_t> counts;
  if (ask_counts) {
    if (!pending_counts(std::string(entry_id_of(entries->element[0])),
                        std::string(entry_id_of(entries->element[entries->elements - 1])), entries->elements, &counts))
      return false;
    known = &counts;
  }
  auto self = shared_from_this();
  for (size_t i = 0; i < entries->elements; ++i) {
    const redisReply* e = entries->element[i];
    if (!is_array(e) || e->elements < 2) continue;
    std::string id(entry_id_of(e));
    if (e->element[1]->type != REDIS_REPLY_ARRAY) {
      // Deleted (XDEL/trimmed) while pending: nothing left to deliver; drop it from the PEL.
      std::lock_guard lock(mu_);
      acks_.push_back(std::move(id));
      continue;
    }
    auto it = known->find(id);
    uint32_t attempts = it != known->end() ? it->second : 1;
    auto d = std::make_unique<Delivery>();
    d->entry_id = std::move(id);
    std::string why;
    if (!decode_fields(e->element[1], d->entry_id, &d->headers, &d->view, &why)) {
      log_.log(QPLUG_LOG_ERROR, "stream %s: %s; left pending", p_.key.c_str(), why.c_str());
      continue;
    }
    d->view.attempts = attempts;
    {
      std::lock_guard lock(mu_);
      // Stopping, or already in the host's hands.
      if (stop_ || !held_.try_emplace(d->entry_id, attempts).second) continue;
    }
    d->sub = self;
    d->reply = reply;
    Delivery* raw = d.release();
    p_.deliver(p_.host_ud, reinterpret_cast<qplug_delivery*>(raw), &raw->view);
  }
  return true;
}

bool Subscription::submit_acks(std::vector<std::string> ids) {
  if (ids.empty()) return true;
  size_t n = ids.size();
  if (!writer_acks_->add_all(std::move(ids))) return true;  // the queued job will carry them
  WriteJob job;
  job.what = "XACK";
  job.acks = writer_acks_;
  qplug_status st = sdk::make_status();
  // Weight 0: settlements never wait behind publishes for room.
  if (writer_->submit(std::move(job), 0, Clock::now(), &st) == QPLUG_OK) return true;
  writer_acks_->abandon();
  log_.log(QPLUG_LOG_WARN, "%zu XACKs not sent: %s (the entries will be redelivered)", n, st.message);
  return false;
}

void Subscription::wake_reader() {
  cv_.notify_all();
  int64_t blocked = blocked_client_.load();
  if (blocked == 0) return;
  // The reader sits in XREADGROUP BLOCK on its own connection: unblock it
  // from the writer's connection so a nacked entry is redelivered now.
  std::string id = std::to_string(blocked);
  WriteJob job;
  job.what = "CLIENT UNBLOCK";
  job.cmds.emplace_back(std::vector<std::string_view>{"CLIENT", "UNBLOCK", id});
  job.deadline = Clock::now();
  qplug_status st = sdk::make_status();
  (void)writer_->submit(std::move(job), 0, Clock::now(), &st);
}

int32_t Subscription::settle(Delivery* d, int32_t disposition, qplug_status* st) {
  std::unique_ptr<Delivery> owned(d);
  bool via_writer = false, wake = false;
  {
    std::lock_guard lock(mu_);
    auto it = held_.find(d->entry_id);
    if (cancelled_ || it == held_.end())
      return sdk::fail(st, QPLUG_CANCELED, false, "redis: subscription ended; the broker redelivers entry %s",
                       d->entry_id.c_str());
    if (disposition == QPLUG_NACK_REQUEUE) {
      nacked_.emplace_back(d->entry_id, it->second);  // stays held until redelivered
    } else {
      // ACK and REJECT both XACK. No XDEL: other groups may not have read
      // the entry yet; REJECT drops it for this group only.
      held_.erase(it);
      via_writer = reading_;  // the reader's connection is blocked in XREADGROUP
      if (!via_writer) acks_.push_back(d->entry_id);
      wake = reader_waiting_ && held_.size() <= wake_at_held_;
    }
  }
  if (disposition == QPLUG_NACK_REQUEUE) {
    wake_reader();
    return QPLUG_OK;
  }
  if (wake) cv_.notify_all();
  if (via_writer && !submit_acks({std::move(d->entry_id)}))
    return sdk::fail(st, QPLUG_UNAVAILABLE, true, "redis: driver closed before XACK; the broker redelivers the entry");
  return QPLUG_OK;
}

int32_t Subscription::unsubscribe(qplug_status* /*status: never fails*/) {
  {
    std::lock_guard lock(mu_);
    if (stop_) return QPLUG_OK;
    stop_ = true;
  }
  cv_.notify_all();
  conn_.interrupt();  // a blocking XREADGROUP returns with an I/O error; the reader exits
  if (thread_.joinable()) thread_.join();
  std::vector<std::string> ids, acks;
  {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    for (auto& [id, n] : held_) ids.push_back(id);
    held_.clear();
    nacked_.clear();
    acks.swap(acks_);
  }
  submit_acks(std::move(acks));  // settled before the reader could send them
  if (ids.empty()) return QPLUG_OK;
  // Hand unsettled entries back: mark them long idle so the next XAUTOCLAIM
  // of any consumer in the group takes them immediately.
  std::vector<std::string_view> argv{"XCLAIM", p_.key, p_.group, p_.consumer, "0"};
  argv.insert(argv.end(), ids.begin(), ids.end());
  argv.insert(argv.end(), {"IDLE", kReleasedIdleMs, "JUSTID"});
  sdk::Waiter waiter;
  WriteJob job;
  job.what = "XCLAIM (release)";
  job.cmds.emplace_back(argv);
  job.done = &sdk::Waiter::on_done;
  job.done_ud = &waiter;
  Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(settings_.endpoint.command_timeout_ms);
  job.deadline = deadline;
  qplug_status done = sdk::make_status();
  if (writer_->submit(std::move(job), 0, deadline, &done) != QPLUG_OK) {  // stay pending: reclaimed after claim_idle
    log_.log(QPLUG_LOG_WARN, "returning %zu unsettled entries: %s", ids.size(), done.message);
    return QPLUG_OK;
  }
  waiter.wait(&done, nullptr);
  if (done.code != QPLUG_OK)
    log_.log(QPLUG_LOG_WARN, "returning %zu unsettled entries failed (%s); reclaimed after claim_idle", ids.size(),
             done.message);
  return QPLUG_OK;
}

}  // namespace qplug::rstream
