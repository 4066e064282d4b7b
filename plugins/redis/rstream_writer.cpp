// rstream_writer.cpp -- group-commit pipeline over one hiredis connection.
#include "rstream_writer.hpp"

#include <pthread.h>

#include <algorithm>
#include <qplug/sdk/backoff.hpp>
#include <qplug/sdk/host_log.hpp>
#include <qplug/sdk/status.hpp>
#include <utility>

#include "rstream_sigpipe.hpp"

namespace qplug::rstream {

namespace {
// Commands written before replies are read, per round: bounds the latency of
// the first job of a big burst without giving up pipelining.
constexpr size_t kMaxCommandsPerRound = 4096;

// A publish sent is given at least this long for its reply, even when its
// deadline is (almost) past: a timeout of 0 means "do not wait through an
// outage", not "fail on a live broker".
constexpr auto kMinReplyWait = std::chrono::milliseconds(100);

// The earliest deadline among `jobs` that a caller waits for (a completion).
// Fire-and-forget jobs (XACK, CLIENT UNBLOCK) have no caller to answer: their
// deadline only bounds how long they wait through an outage.
Clock::time_point earliest_awaited_deadline(const std::vector<WriteJob>& jobs) {
  Clock::time_point t = Clock::time_point::max();
  for (const WriteJob& job : jobs)
    if (job.done != nullptr) t = std::min(t, job.deadline);
  return t;
}
}  // namespace

Writer::Writer(const DriverSettings& settings, const qplug_host_v1* host)
    : settings_(settings),
      log_(host, "redis"),
      queue_(static_cast<size_t>(settings.max_pending)),
      backoff_(settings.reconnect_initial_ms, settings.reconnect_max_ms) {}

Writer::~Writer() { close(0); }

void Writer::start() {
  thread_ = std::thread([this] { run(); });
}

int32_t Writer::submit(WriteJob job, size_t weight, Clock::time_point room_deadline, qplug_status* st) {
  if (closing_.load()) return sdk::fail(st, QPLUG_CANCELED, false, "redis: driver is closing");
  submitted_.fetch_add(1);  // before the push: run_inline() must never see a queued job as merged
  auto pushed = queue_.push(std::move(job), weight, room_deadline);
  if (pushed != sdk::MpscQueue<WriteJob>::Push::ok) submitted_.fetch_sub(1);
  switch (pushed) {
    case sdk::MpscQueue<WriteJob>::Push::ok:
      return QPLUG_OK;
    case sdk::MpscQueue<WriteJob>::Push::full:
      return sdk::fail(st, QPLUG_FULL, true, "redis: %lld publishes already waiting for the broker (max_pending)",
                       static_cast<long long>(settings_.max_pending));
    default:
      return sdk::fail(st, QPLUG_CANCELED, false, "redis: driver is closing");
  }
}

bool Writer::run_inline(WriteJob& job) {
  std::unique_lock lock(io_mu_, std::try_to_lock);
  // Anything queued or in flight goes first (a caller's earlier async
  // publishes keep their order): then the writer thread does the work.
  if (!lock.owns_lock() || closing_.load() || !conn_.connected() || !pending_.empty() || submitted_.load() != merged_)
    return false;
  pending_.push_back(std::move(job));
  SigpipeBlock on_host_thread;
  flush(pending_, earliest_awaited_deadline(pending_), true);
  if (!pending_.empty()) queue_.wake();  // connection lost, or reply late: the writer thread takes over
  return true;
}

void Writer::close(uint32_t timeout_ms) {
  if (!thread_.joinable()) return;
  close_deadline_ns_.store((Clock::now() + std::chrono::milliseconds(timeout_ms)).time_since_epoch().count());
  closing_.store(true);
  queue_.close();
  thread_.join();
}

void Writer::finish(WriteJob& job) {
  if (job.done == nullptr) return;
  qplug_status st = job.error;
  if (st.code == QPLUG_OK) sdk::set_ok(&st);
  qplug_publish_done_fn fn = job.done;
  job.done = nullptr;
  fn(job.done_ud, &st, job.accepted);
}

// Fails the jobs `which` picks with `why`, keeping order. Returns the
// earliest deadline among the kept jobs a caller waits for.
Clock::time_point Writer::expire(std::vector<WriteJob>& pending, const qplug_status& why, Expiry which) {
  auto now = Clock::now();
  auto earliest = Clock::time_point::max();
  std::vector<WriteJob> keep;
  for (WriteJob& job : pending) {
    const bool due = job.deadline <= now && (which != Expiry::kDueAwaited || job.done != nullptr);
    if (which == Expiry::kAll || due) {
      if (job.error.code == QPLUG_OK) job.error = why;
      if (job.acks) job.cmds = std::exchange(job.acks, nullptr)->take();  // to log them
      if (job.done == nullptr && !job.abandoned && job.replied < job.cmds.size())
        log_.log(QPLUG_LOG_WARN, "%s not confirmed (%s); the broker will redeliver the entry", job.what, why.message);
      finish(job);
    } else {
      if (job.done != nullptr) earliest = std::min(earliest, job.deadline);
      keep.push_back(std::move(job));
    }
  }
  pending.swap(keep);
  return earliest;
}

// Jobs [begin, end) of the round being read whose deadline passed fail now
// (TIMEOUT: their commands were sent, so they may be stored); their replies
// are read and dropped when they arrive. Returns the next deadline among the
// others a caller waits for.
Clock::time_point Writer::abandon_overdue(std::vector<WriteJob>& jobs, size_t begin, size_t end) {
  const auto now = Clock::now();
  auto next = Clock::time_point::max();
  for (size_t i = begin; i < end; ++i) {
    WriteJob& job = jobs[i];
    if (job.done == nullptr) continue;  // answered already, or nobody waits
    if (job.deadline > now) {
      next = std::min(next, job.deadline);
      continue;
    }
    if (job.error.code == QPLUG_OK) job.error = no_reply_status();
    job.abandoned = true;
    finish(job);
  }
  return next;
}

qplug_status Writer::no_reply_status() const {
  qplug_status st = sdk::make_status();
  sdk::fail(&st, QPLUG_TIMEOUT, true,
            "redis %s: no reply within publish_timeout (the message may be stored: publish it again with the same ID)",
            settings_.endpoint.address().c_str());
  return st;
}

bool Writer::ensure_connected(std::vector<WriteJob>& pending) {
  if (conn_.connected()) return true;
  if (Clock::now() < next_connect_ && !closing_.load()) return false;
  qplug_status st = sdk::make_status();
  if (conn_.connect(settings_.endpoint, 0, &st)) {
    last_io_ = Clock::now();
    if (backoff_.failures() > 0)
      log_.log(QPLUG_LOG_INFO, "writer reconnected to %s", settings_.endpoint.address().c_str());
    backoff_.reset();
    return true;
  }
  if (backoff_.failures() == 0) log_.log(QPLUG_LOG_WARN, "writer: %s; retrying with backoff", st.message);
  next_connect_ = Clock::now() + std::chrono::milliseconds(backoff_.next_ms());
  last_connect_error_ = st;
  (void)pending;
  return false;
}

void Writer::flush(std::vector<WriteJob>& pending, Clock::time_point earliest, bool hand_over) {
  // Write: every remaining command of as many jobs as fit in one round.
  size_t jobs_written = 0, commands = 0;
  for (; jobs_written < pending.size() && commands < kMaxCommandsPerRound; ++jobs_written) {
    WriteJob& job = pending[jobs_written];
    if (job.abandoned) continue;  // left by run_inline(): its commands are on the wire already
    if (job.acks) job.cmds = std::exchange(job.acks, nullptr)->take();
    for (size_t i = job.replied; i < job.cmds.size(); ++i, ++commands)
      conn_.append_formatted(job.cmds[i].data(), job.cmds[i].size());
  }
  // Read: replies arrive in order; complete each job once its last reply is
  // in. The wait is poll()ed, never a shortened socket timeout: that fails
  // the connection, and every unanswered command of the round (executed by
  // a slow but live server) would be sent again and stored twice. Instead:
  //  - when the earliest deadline passes, only the overdue jobs fail
  //    (abandon_overdue) and reading goes on;
  //  - only command_timeout without any reply means a dead link (a black
  //    hole): the connection is dropped, unconfirmed commands are sent
  //    again after reconnecting.
  const auto patience = std::chrono::milliseconds(settings_.endpoint.command_timeout_ms);
  auto silent_until = Clock::now() + patience;
  earliest = std::max(earliest, Clock::now() + kMinReplyWait);
  size_t completed = 0;
  qplug_status io = sdk::make_status();
  for (size_t j = 0; j < jobs_written; ++j) {
    WriteJob& job = pending[j];
    while (job.replied < job.cmds.size()) {
      bool timed_out = false;
      Reply r = conn_.read_reply_by(std::min(earliest, silent_until), &timed_out, &io);
      if (!r && timed_out && Clock::now() < silent_until) {
        earliest = abandon_overdue(pending, j, jobs_written);
        if (hand_over && job.abandoned) return;  // the caller has its answer: the writer thread reads the rest
        continue;
      }
      if (!r && timed_out) {
        sdk::fail(&io, QPLUG_TIMEOUT, true, "redis %s: no reply within command_timeout",
                  settings_.endpoint.address().c_str());
        conn_.reset();
      }
      if (!r) break;
      silent_until = Clock::now() + patience;
      if (r->type == REDIS_REPLY_ERROR) {
        if (job.error.code == QPLUG_OK) fail_reply(&job.error, r.get(), job.what);
        if (job.done == nullptr) log_.log(QPLUG_LOG_ERROR, "%s failed: %s", job.what, reply_text(r.get()).data());
      } else if (job.error.code == QPLUG_OK) {
        ++job.accepted;
      }
      ++job.replied;
    }
    if (job.replied < job.cmds.size()) break;  // connection lost mid-job: retry it after reconnect
    last_io_ = Clock::now();
    finish(job);
    ++completed;
  }
  pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(completed));
  if (!conn_.connected()) {
    log_.log(QPLUG_LOG_WARN, "writer: %s; unconfirmed commands will be sent again", io.message);
    // Unconfirmed commands are resent from the first one without a reply,
    // except those of jobs that failed already (their callers were told).
    const auto round_end = pending.begin() + static_cast<std::ptrdiff_t>(jobs_written - completed);
    pending.erase(std::remove_if(pending.begin(), round_end, [](const WriteJob& job) { return job.abandoned; }),
                  round_end);
  }
}

// heartbeat: an idle publishing connection is PINGed, so a link the network
// dropped silently is found (and reconnected at the next publish) before a
// publish has to wait on it. Subscriptions need none: their BLOCKing reads
// time out on a dead link by themselves.
void Writer::health_check() {
  if (settings_.heartbeat_ms <= 0 || !conn_.connected()) return;
  if (Clock::now() - last_io_ < std::chrono::milliseconds(settings_.heartbeat_ms)) return;
  qplug_status st = sdk::make_status();
  Reply r = conn_.command({"PING"}, &st);
  if (r) {
    last_io_ = Clock::now();
  } else {
    log_.log(QPLUG_LOG_WARN, "writer: heartbeat PING failed (%s); reconnecting at the next publish", st.message);
  }
}

void Writer::run() {
  pthread_setname_np(pthread_self(), "qplug-redis-wr");  // visible in top -H, perf, gdb
  block_sigpipe_for_this_thread();
  std::vector<WriteJob> incoming;
  for (;;) {
    Clock::time_point wait_until;
    {
      std::lock_guard lock(io_mu_);
      bool disconnected = !conn_.connected() && !pending_.empty();
      Clock::time_point idle_wait = Clock::now() + std::chrono::seconds(1);
      if (settings_.heartbeat_ms > 0 && conn_.connected())
        idle_wait = std::min(idle_wait, last_io_ + std::chrono::milliseconds(settings_.heartbeat_ms));
      wait_until = pending_.empty() ? idle_wait
                   : disconnected   ? std::min(next_connect_, Clock::now() + std::chrono::milliseconds(50))
                                    : Clock::now();
    }
    bool open = queue_.pop_all(incoming, wait_until);
    std::lock_guard lock(io_mu_);
    merged_ += incoming.size();
    for (WriteJob& job : incoming) pending_.push_back(std::move(job));
    incoming.clear();
    bool closing = closing_.load();
    if (pending_.empty()) {
      if (!open || closing) break;
      health_check();
      continue;
    }
    if (closing && Clock::now().time_since_epoch().count() >= close_deadline_ns_.load()) {
      qplug_status st = sdk::make_status();
      sdk::fail(&st, QPLUG_CANCELED, false, "redis: driver closed before the broker confirmed");
      expire(pending_, st, Expiry::kAll);
      continue;
    }
    if (!ensure_connected(pending_)) {
      qplug_status st = last_connect_error_;
      if (closing) st.code = QPLUG_CANCELED;
      expire(pending_, st, closing ? Expiry::kAll : Expiry::kDue);
      continue;
    }
    // Connected, but maybe to a link that accepts and never answers (a black
    // hole): the last round heard nothing for command_timeout and dropped the
    // connection, the reconnect "succeeded". Publishes past their deadline
    // fail here rather than be sent again, so none waits longer than its
    // publish_timeout however often that repeats. One scan per round: the
    // earliest deadline also bounds this round's wait for replies (flush).
    Clock::time_point earliest = earliest_awaited_deadline(pending_);
    if (earliest <= Clock::now()) {
      earliest = expire(pending_, no_reply_status(), Expiry::kDueAwaited);
      if (pending_.empty()) continue;
    }
    flush(pending_, earliest, false);
  }
  std::lock_guard lock(io_mu_);
  conn_.reset();
}

}  // namespace qplug::rstream
