// mqtt_spool.hpp -- a consumer session's local write-ahead spool (LMDB).
//
// Why: libmosquitto has no manual ack; the PUBACK of a delivery leaves when
// the message callback returns (with loop_start). The consumer therefore
// writes every message here INSIDE the callback, before it returns, and
// removes it when the host settles it; a restarted process replays what is
// left before taking new messages (mqtt_consumer.cpp). So the broker may
// forget a message only once it is in this spool.
//
// Why LMDB: a copy-on-write B-tree that is consistent after a crash without
// any recovery step or log replay, with one fsync point per commit
// (mdb_env_sync) that the three fsync modes map onto directly, and readers
// that never block the writer. It is in Debian (liblmdb) and well kept.
// SQLite would do too; LMDB needs no schema, statements or checkpointing for
// a key -> record map. (Not measured against SQLite.)
//
// One LMDB file per consumer session, <dir>/<session id, %-escaped>.lmdb
// (+ "-lock"), held exclusively with flock(<file>.owner): a second process
// (or consumer) with the same session ID is refused instead of replaying the
// same entries twice. Keys are 8-byte big-endian sequence numbers, so the
// replay order is the arrival order. Any thread may call any member; LMDB
// serialises the write transactions.
#pragma once

#include <lmdb.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <qplug/sdk/message.hpp>
#include <string>
#include <thread>
#include <vector>

#include "mqtt_spool_settings.hpp"

namespace qplug::mqtt {

class Spool {
 public:
  struct Entry {
    uint64_t seq = 0;
    sdk::OwnedMessage message;
    int64_t due_ms = 0;  // > 0: a delayed message, not handed out before (epoch ms)
  };

  // Opens (creating directories and file as needed) the spool of `session`.
  // nullptr + *error naming the path when it cannot be used.
  static std::shared_ptr<Spool> open(const SpoolSettings& settings, const std::string& session, std::string* error);
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // Durable per the fsync mode when it returns a sequence number (> 0);
  // 0 + *error otherwise (disk full, I/O error). due_ms > 0 stores the
  // message's due time with it (a delayed message, mqtt_consumer.hpp).
  uint64_t append(const sdk::OwnedMessage& m, std::string* error, int64_t due_ms = 0);
  // Removes an entry; a missing one is fine (already removed). The removal
  // is committed with the next append, or within fsync_interval by the
  // sync thread, or at close, so each message costs one commit (and with
  // fsync `always` one sync), not two; a crash before that delivers the
  // message once more (at least once). *error: kept for a store that can
  // fail here.
  bool remove(uint64_t seq, std::string* error);
  // Every entry, oldest first. False + *error on an unreadable record.
  bool load(std::vector<Entry>* out, std::string* error);

  const std::string& path() const { return path_; }

 private:
  Spool() = default;
  std::string fail(const char* what, int rc) const;
  void sync_loop();
  std::vector<uint64_t> take_removals();
  void give_back(const std::vector<uint64_t>& removals);
  int delete_keys(MDB_txn* txn, const std::vector<uint64_t>& seqs);
  void flush_removals();

  std::string path_;
  SpoolFsync fsync_ = SpoolFsync::kAlways;
  int64_t interval_ms_ = 1000;
  MDB_env* env_ = nullptr;
  MDB_dbi dbi_ = 0;
  int owner_fd_ = -1;
  std::atomic<uint64_t> next_seq_{1};
  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  bool closing_ = false;
  std::mutex pending_mu_;
  std::vector<uint64_t> pending_;  // removals not committed yet
  std::thread syncer_;             // each fsync_interval: flush_removals (and interval: mdb_env_sync)
};

// <dir>/<escaped session>.lmdb: bytes other than [A-Za-z0-9._-] as %XX; a
// long ID is cut and completed with a hash so the name stays under NAME_MAX.
std::string spool_file(const std::string& dir, const std::string& session);

}  // namespace qplug::mqtt
