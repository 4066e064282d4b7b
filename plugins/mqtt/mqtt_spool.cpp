// mqtt_spool.cpp -- see mqtt_spool.hpp.
#include "mqtt_spool.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "mqtt_spool_record.hpp"

namespace qplug::mqtt {
namespace {
// Virtual size of the map: address space only, the file grows as needed. The
// spool holds at most prefetch messages (plus delayed ones and what a crash
// left), and an MQTT body may be 256 MB, so 1 GiB could fill with a few big
// ones and hold PUBACKs back (spool_durably retries a full map). 16 GiB of a
// 64-bit address space costs nothing.
constexpr size_t kMapSize = size_t{16} << 30;
constexpr size_t kMaxPlainName = 200;

void seq_key(uint64_t seq, unsigned char out[8]) {
  for (int i = 7; i >= 0; --i, seq >>= 8) out[i] = static_cast<unsigned char>(seq & 0xFF);
}
uint64_t key_seq(const MDB_val& k) {
  uint64_t v = 0;
  const auto* p = static_cast<const unsigned char*>(k.mv_data);
  for (size_t i = 0; i < k.mv_size && i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

// mkdir -p with mode 0700 (the spool holds message bodies).
bool make_dirs(const std::string& dir, std::string* error) {
  for (size_t pos = 1; pos <= dir.size(); ++pos) {
    if (pos != dir.size() && dir[pos] != '/') continue;
    std::string part = dir.substr(0, pos);
    if (::mkdir(part.c_str(), 0700) != 0 && errno != EEXIST) {
      *error = "cannot create directory '" + part + "': " + std::strerror(errno);
      return false;
    }
  }
  struct stat sb {};
  if (::stat(dir.c_str(), &sb) != 0 || !S_ISDIR(sb.st_mode)) {
    *error = "'" + dir + "' is not a directory";
    return false;
  }
  return true;
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}
}  // namespace

std::string spool_file(const std::string& dir, const std::string& session) {
  std::string name;
  for (unsigned char c : session) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
        c == '-') {
      name.push_back(static_cast<char>(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      name += buf;
    }
  }
  if (name.size() > kMaxPlainName) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "~%016llx", static_cast<unsigned long long>(fnv1a(session)));
    name = name.substr(0, kMaxPlainName - 20) + buf;
  }
  return dir + '/' + name + ".lmdb";
}

std::string Spool::fail(const char* what, int rc) const {
  return std::string("spool ") + what + " (" + mdb_strerror(rc) + "): " + path_;
}

std::shared_ptr<Spool> Spool::open(const SpoolSettings& settings, const std::string& session, std::string* error) {
  std::string dir = settings.dir.empty() ? default_spool_dir() : settings.dir;
  if (dir.empty()) {
    *error = "no spool directory: neither XDG_STATE_HOME nor HOME is set; set the driver key 'spool.dir'";
    return nullptr;
  }
  std::string why;
  if (!make_dirs(dir, &why)) {
    *error = "spool directory '" + dir + "' (key 'spool.dir'): " + why;
    return nullptr;
  }
  std::shared_ptr<Spool> s(new Spool());
  s->path_ = spool_file(dir, session);
  s->fsync_ = settings.fsync;
  s->interval_ms_ = settings.fsync_interval_ms;
  const std::string owner = s->path_ + ".owner";
  s->owner_fd_ = ::open(owner.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (s->owner_fd_ < 0) {
    *error = std::string("spool lock file cannot be opened (") + std::strerror(errno) + "): " + owner;
    return nullptr;
  }
  if (::flock(s->owner_fd_, LOCK_EX | LOCK_NB) != 0) {
    *error =
        "spool in use by another consumer with this session ID (client_id must be unique per process): " + s->path_;
    return nullptr;
  }
  int rc = mdb_env_create(&s->env_);
  if (rc == 0) rc = mdb_env_set_mapsize(s->env_, kMapSize);
  // NOSYNC for interval/never: commits go to the page cache (safe against a
  // process crash); mdb_env_sync() decides when they reach the disk.
  const unsigned flags = MDB_NOSUBDIR | MDB_NOTLS | (settings.fsync == SpoolFsync::kAlways ? 0u : MDB_NOSYNC);
  if (rc == 0) rc = mdb_env_open(s->env_, s->path_.c_str(), flags, 0600);
  if (rc != 0) {
    *error = s->fail("unusable, move a damaged file away", rc);
    if (s->env_ != nullptr) mdb_env_close(s->env_);  // a failed open still needs its close
    s->env_ = nullptr;
    return nullptr;
  }
  MDB_txn* txn = nullptr;
  rc = mdb_txn_begin(s->env_, nullptr, 0, &txn);
  if (rc == 0) rc = mdb_dbi_open(txn, nullptr, 0, &s->dbi_);
  MDB_cursor* cur = nullptr;
  if (rc == 0) rc = mdb_cursor_open(txn, s->dbi_, &cur);
  if (rc == 0) {
    MDB_val k, v;
    int last = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    if (last == 0) s->next_seq_ = key_seq(k) + 1;
    mdb_cursor_close(cur);
    if (last != 0 && last != MDB_NOTFOUND) rc = last;
  }
  if (rc == 0) {
    rc = mdb_txn_commit(txn);
  } else if (txn != nullptr) {
    mdb_txn_abort(txn);
  }
  if (rc != 0) {
    *error = s->fail("cannot read", rc);
    return nullptr;
  }
  s->syncer_ = std::thread([raw = s.get()] { raw->sync_loop(); });
  return s;
}

Spool::~Spool() {
  if (syncer_.joinable()) {
    {
      std::lock_guard lock(sync_mu_);
      closing_ = true;
    }
    sync_cv_.notify_all();
    syncer_.join();
  }
  if (env_ != nullptr) {
    flush_removals();
    if (fsync_ == SpoolFsync::kInterval) mdb_env_sync(env_, 1);
    mdb_env_close(env_);
  }
  if (owner_fd_ >= 0) ::close(owner_fd_);  // releases the flock
}

void Spool::sync_loop() {
  std::unique_lock lock(sync_mu_);
  while (!closing_) {
    sync_cv_.wait_for(lock, std::chrono::milliseconds(interval_ms_), [&] { return closing_; });
    lock.unlock();
    flush_removals();
    if (fsync_ == SpoolFsync::kInterval) mdb_env_sync(env_, 1);
    lock.lock();
  }
}

uint64_t Spool::append(const sdk::OwnedMessage& m, std::string* error, int64_t due_ms) {
  const uint64_t seq = next_seq_.fetch_add(1);
  unsigned char key[8];
  seq_key(seq, key);
  std::string record = encode_spool_record(m, due_ms);
  MDB_val k{sizeof key, key};
  MDB_val v{record.size(), record.data()};
  std::vector<uint64_t> removals = take_removals();
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
  if (rc == 0) rc = mdb_put(txn, dbi_, &k, &v, MDB_NOOVERWRITE);
  if (rc == 0) rc = delete_keys(txn, removals);
  if (rc == 0) {
    rc = mdb_txn_commit(txn);  // fsync: always syncs here, for the removals too
  } else if (txn != nullptr) {
    mdb_txn_abort(txn);
  }
  if (rc != 0) {
    give_back(removals);
    return *error = fail("cannot write", rc), 0;
  }
  return seq;
}

std::vector<uint64_t> Spool::take_removals() {
  std::lock_guard lock(pending_mu_);
  return std::exchange(pending_, {});
}

void Spool::give_back(const std::vector<uint64_t>& removals) {
  std::lock_guard lock(pending_mu_);
  pending_.insert(pending_.end(), removals.begin(), removals.end());
}

int Spool::delete_keys(MDB_txn* txn, const std::vector<uint64_t>& seqs) {
  for (uint64_t seq : seqs) {
    unsigned char key[8];
    seq_key(seq, key);
    MDB_val k{sizeof key, key};
    int rc = mdb_del(txn, dbi_, &k, nullptr);
    if (rc != 0 && rc != MDB_NOTFOUND) return rc;
  }
  return 0;
}

void Spool::flush_removals() {
  std::vector<uint64_t> removals = take_removals();
  if (removals.empty()) return;
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
  if (rc == 0) rc = delete_keys(txn, removals);
  if (rc == 0) {
    rc = mdb_txn_commit(txn);
  } else if (txn != nullptr) {
    mdb_txn_abort(txn);
  }
  if (rc != 0) give_back(removals);  // tried again at the next write or tick
}

bool Spool::remove(uint64_t seq, std::string*) {
  // Joins the next spool write's commit (or the next tick): one commit per
  // message instead of two (and with fsync `always` one sync instead of
  // two). Until then a crash delivers the message once more.
  std::lock_guard lock(pending_mu_);
  pending_.push_back(seq);
  return true;
}

bool Spool::load(std::vector<Entry>* out, std::string* error) {
  flush_removals();  // what was settled is not an entry any more
  out->clear();
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn);
  MDB_cursor* cur = nullptr;
  if (rc == 0) rc = mdb_cursor_open(txn, dbi_, &cur);
  if (rc != 0) {
    if (txn != nullptr) mdb_txn_abort(txn);
    return *error = fail("cannot read", rc), false;
  }
  bool ok = true;
  MDB_val k, v;
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    int64_t due = 0;
    auto m = decode_spool_record({static_cast<const char*>(v.mv_data), v.mv_size}, &due);
    if (!m || k.mv_size != 8) {
      *error = "spool entry " + std::to_string(key_seq(k)) +
               " is not a qplug record (damaged file? move it away to start afresh): " + path_;
      ok = false;
      break;
    }
    out->push_back({key_seq(k), std::move(*m), due});
  }
  if (ok && rc != MDB_NOTFOUND) {
    *error = fail("cannot read", rc);
    ok = false;
  }
  mdb_cursor_close(cur);
  mdb_txn_abort(txn);
  return ok;
}

}  // namespace qplug::mqtt
