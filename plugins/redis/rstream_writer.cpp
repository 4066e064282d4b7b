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

// The socket timeout for reading the replies of `jobs`: command_timeout, or
// less when a publish among them falls due sooner, so that a link which
// answers nothing (black hole) holds no publish past its deadline. Rounded
// up to 100 ms so steady traffic keeps one value (no syscall per round).
int64_t reply_timeout_ms(const std::vector<WriteJob>& jobs, size_t n, int64_t command_timeout_ms) {
  const auto now = Clock::now();
  int64_t ms = command_timeout_ms;
  for (size_t i = 0; i < n; ++i) {
    if (jobs[i].done == nullptr || jobs[i].deadline == Clock::time_point::max()) continue;
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(jobs[i].deadline - now).count();
    ms = std::min(ms, std::max<int64_t>((left + 99) / 100 * 100, 100));
  }
  return ms;
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
  flush(pending_);
  if (!pending_.empty()) queue_.wake();  // connection lost mid-job: the writer thread takes over
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

// Fails jobs past their deadline (or all of them) with `why`, keeping order.
void Writer::expire(std::vector<WriteJob>& pending, const qplug_status& why, bool all) {
  auto now = Clock::now();
  std::vector<WriteJob> keep;
  for (WriteJob& job : pending) {
    if (all || job.deadline <= now) {
      if (job.error.code == QPLUG_OK) job.error = why;
      if (job.acks) job.cmds = std::exchange(job.acks, nullptr)->take();  // to log them
      if (job.done == nullptr && job.replied < job.cmds.size())
        log_.log(QPLUG_LOG_WARN, "%s not confirmed (%s); the broker will redeliver the entry", job.what, why.message);
      finish(job);
    } else {
      keep.push_back(std::move(job));
    }
  }
  pending.swap(keep);
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

void Writer::flush(std::vector<WriteJob>& pending) {
  // Write: every remaining command of as many jobs as fit in one round.
  size_t jobs_written = 0, commands = 0;
  for (; jobs_written < pending.size() && commands < kMaxCommandsPerRound; ++jobs_written) {
    WriteJob& job = pending[jobs_written];
    if (job.acks) job.cmds = std::exchange(job.acks, nullptr)->take();
    for (size_t i = job.replied; i < job.cmds.size(); ++i, ++commands)
      conn_.append_formatted(job.cmds[i].data(), job.cmds[i].size());
  }
  // Read: replies arrive in order; complete each job once its last reply is in.
  conn_.set_io_timeout(reply_timeout_ms(pending, jobs_written, settings_.endpoint.command_timeout_ms));
  size_t completed = 0;
  qplug_status io = sdk::make_status();
  for (size_t j = 0; j < jobs_written; ++j) {
    WriteJob& job = pending[j];
    while (job.replied < job.cmds.size()) {
      Reply r = conn_.read_reply(&io);
      if (!r) break;
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
    // Unconfirmed commands are resent from the first one without a reply.
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
      expire(pending_, st, true);
      continue;
    }
    if (!ensure_connected(pending_)) {
      qplug_status st = last_connect_error_;
      if (closing) st.code = QPLUG_CANCELED;
      expire(pending_, st, closing);
      continue;
    }
    // Connected, but maybe to a link that accepts and never answers (a black
    // hole): the last round's read timed out and dropped the connection, the
    // reconnect "succeeded". Publishes past their deadline fail here, so none
    // waits longer than its publish_timeout however often that repeats.
    const auto now = Clock::now();
    if (std::any_of(pending_.begin(), pending_.end(), [&](const WriteJob& j) { return j.deadline <= now; })) {
      expire(pending_, no_reply_status(), false);
      if (pending_.empty()) continue;
    }
    flush(pending_);
  }
  std::lock_guard lock(io_mu_);
  conn_.reset();
}

}  // namespace qplug::rstream
