// rstream_acks.hpp -- one subscription's acknowledgements waiting for the
// writer, merged into ONE multi-ID XACK per writer round.
//
// settle() runs on host threads. While the subscription's reader is idle, its
// acks ride on the reader's own connection (pipelined in front of its next
// XREADGROUP); while the reader sits in a blocking XREADGROUP its connection
// is busy, so acks go here instead. The first ack of a round queues one
// writer job; the writer fills it at write time with every ID added so far
// (XACK key group id1 id2 ...): one command, one reply and one writer wakeup
// per round however many messages were settled.
#pragma once

#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "rstream_connection.hpp"

namespace qplug::rstream {

class AckBatch {
 public:
  AckBatch(std::string key, std::string group) : key_(std::move(key)), group_(std::move(group)) {}

  // Any thread. Returns true when no writer job is queued for this batch
  // yet: the caller must then submit one (or call abandon() if it cannot).
  bool add_all(std::vector<std::string> ids);
  // The submit of the job add() asked for failed: the next add() asks again.
  void abandon();

  // Writer thread: the queued job's commands (one XACK with every waiting ID;
  // empty if none). The next add() queues a new job.
  std::vector<FormattedCommand> take();

  // One `XACK key group ids...` command.
  static FormattedCommand format_xack(const std::string& key, const std::string& group,
                                      const std::vector<std::string>& ids);

 private:
  const std::string key_;
  const std::string group_;
  std::mutex mu_;
  std::vector<std::string> ids_;
  bool job_queued_ = false;
};

}  // namespace qplug::rstream
