// rstream_writer.hpp -- the driver's write pipeline (group commit).
//
// One thread owns one connection. Publishers (XADD), settlements (XACK) and
// control commands from any host thread are queued as jobs; the thread takes
// every waiting job at once, appends all their commands, then reads all the
// replies: many messages per round trip whenever more than one is waiting.
// Across an outage jobs wait (reconnecting with jittered backoff) until their
// deadline, then fail UNAVAILABLE + retryable. Commands whose replies were
// lost with the connection are sent again after reconnecting, so a publish
// may be stored twice (at-least-once; the `id` field identifies duplicates).
// A publish whose deadline passes while its reply is late fails TIMEOUT
// alone: the connection, and the other commands on it, are kept.
#pragma once

#include <qplug/driver.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <qplug/sdk/backoff.hpp>
#include <qplug/sdk/host_log.hpp>
#include <qplug/sdk/mpsc_queue.hpp>
#include <thread>
#include <vector>

#include "rstream_acks.hpp"
#include "rstream_connection.hpp"
#include "rstream_settings.hpp"

namespace qplug::rstream {

using Clock = std::chrono::steady_clock;

struct WriteJob {
  std::vector<FormattedCommand> cmds;
  // Completion (may be NULL for fire-and-forget jobs such as XACKs, which
  // are retried until close instead). Runs once, on the writer thread or in
  // close(). `accepted` = leading commands that succeeded.
  qplug_publish_done_fn done = nullptr;
  void* done_ud = nullptr;
  Clock::time_point deadline = Clock::time_point::max();
  const char* what = "command";  // for error messages: "XADD", "XACK", ...
  // A merged-ack job: `cmds` is empty when queued and filled from this batch
  // when the writer first writes it (so it carries every ack settled until then).
  std::shared_ptr<AckBatch> acks;
  // Progress, owned by the writer thread.
  size_t replied = 0;  // commands whose reply was read
  size_t accepted = 0;
  qplug_status error{};
  // Failed (TIMEOUT) while its replies were still due on the connection:
  // they are read and dropped as they arrive, and its commands are never
  // sent again (when the connection is lost, the job is dropped).
  bool abandoned = false;
};

class Writer {
 public:
  Writer(const DriverSettings& settings, const qplug_host_v1* host);
  ~Writer();
  void start();

  // Queues a job of `weight` units (messages), waiting for room until
  // `room_deadline`. Returns OK, FULL (retryable) or CANCELED (closing);
  // on failure the job's completion is NOT called.
  int32_t submit(WriteJob job, size_t weight, Clock::time_point room_deadline, qplug_status* status);

  // Fast path for a caller that will wait for its job anyway (synchronous
  // publish): when the writer is idle (connected, nothing queued, nothing in
  // flight) the caller writes the job and reads its replies on its own
  // thread, saving two thread handoffs per round trip. Returns false with
  // `job` untouched when it cannot (then submit()). On true the job was
  // taken: completed already, or left for the writer thread: when the
  // connection was lost mid-job it resends and completes it as usual; when
  // the job failed its deadline with its reply still due, it reads and
  // drops that reply.
  bool run_inline(WriteJob& job);

  // Flushes what it can within timeout_ms, fails the rest (CANCELED), joins.
  void close(uint32_t timeout_ms);
  bool closed() const { return closing_.load(); }

 private:
  // Which jobs expire() fails.
  enum class Expiry {
    kAll,        // closing: every job
    kDue,        // disconnected: every job past its deadline
    kDueAwaited  // connected: jobs past their deadline that a caller waits for
  };

  void run();
  bool ensure_connected(std::vector<WriteJob>& pending);
  // Writes one round and reads its replies, waiting no later than
  // `earliest` (the earliest deadline of a job a caller waits for) before
  // failing overdue jobs. `hand_over` (run_inline): return once the
  // caller's job failed so, leaving its late replies to the writer thread.
  void flush(std::vector<WriteJob>& pending, Clock::time_point earliest, bool hand_over);
  Clock::time_point expire(std::vector<WriteJob>& pending, const qplug_status& why, Expiry which);
  Clock::time_point abandon_overdue(std::vector<WriteJob>& jobs, size_t begin, size_t end);
  void finish(WriteJob& job);
  void health_check();
  qplug_status no_reply_status() const;

  DriverSettings settings_;
  sdk::HostLog log_;  // the host's log service
  sdk::MpscQueue<WriteJob> queue_;
  std::atomic<uint64_t> submitted_{0};  // jobs pushed to queue_
  // io_mu_ guards the connection and the jobs in flight: held by whichever
  // thread (writer, or a caller in run_inline) is writing or reading.
  std::mutex io_mu_;
  uint64_t merged_ = 0;            // jobs moved from queue_ into pending_
  std::vector<WriteJob> pending_;  // written or to write, in order
  Connection conn_;
  std::thread thread_;
  std::atomic<bool> closing_{false};
  std::atomic<int64_t> close_deadline_ns_{0};
  sdk::Backoff backoff_;
  Clock::time_point next_connect_{};
  qplug_status last_connect_error_{};
  Clock::time_point last_io_{};  // last reply on conn_ (heartbeat: PING when idle this long)
};

}  // namespace qplug::rstream
