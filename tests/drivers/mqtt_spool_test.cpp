// tests/drivers/mqtt_spool_test.cpp -- the mqtt driver's write-ahead spool
// (plugins/mqtt/mqtt_spool.hpp) against the real mosquitto of
// tools/scripts/brokers.sh: a consumer process SIGKILLed while its handler
// holds deliveries that were already PUBACKed loses none of them with the
// spool (in every fsync mode) and loses them without it; the spool is
// replayed before new messages; settling empties it; its settings and a
// damaged or unusable spool directory are refused with clear errors.
#include <fcntl.h>
#include <lmdb.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <qplug/sdk/versioned.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "broker_env.hpp"
#include "conformance_harness.hpp"
#include "mqtt_spool_record.hpp"

namespace qplug::conformance {
namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

constexpr uint32_t kPrefetch = 8;
constexpr size_t kProcessBeforeStall = 40;

// ---------------------------------------------------------------------------
// The consumer process: this test binary started again with
// QPLUG_SPOOL_CHILD_QUEUE set runs only this (before gtest's main) and never
// returns. Its delivery callback appends the id to QPLUG_SPOOL_CHILD_RECEIVED
// and hands the delivery to a worker thread, then returns (so the PUBACK
// leaves). The worker settles (ACK) and then appends the id to
// QPLUG_SPOOL_CHILD_PROCESSED, for the first kProcessBeforeStall deliveries;
// after that it stalls, so the process holds kPrefetch deliveries unsettled
// until the parent SIGKILLs it.
// ---------------------------------------------------------------------------
struct ChildWork {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::pair<qplug_delivery*, std::string>> todo;
  int received_fd = -1;
};

void child_deliver(void* ud, qplug_delivery* d, const qplug_message* m) {
  auto* w = static_cast<ChildWork*>(ud);
  std::string id(m->id.ptr, m->id.len);
  std::string line = id + "\n";
  if (::write(w->received_fd, line.data(), line.size()) < 0) _exit(5);
  std::lock_guard lock(w->mu);
  w->todo.emplace_back(d, std::move(id));
  w->cv.notify_all();
}

[[noreturn]] void run_spool_child(const char* queue) {
  using qplug::testing::env_or;
  Driver d;
  qplug_status st = sdk::make_status();
  if (d.open({{"client_id", env_or("QPLUG_SPOOL_CHILD_CLIENT_ID", "spool-child")},
              {"spool.enabled", env_or("QPLUG_SPOOL_CHILD_SPOOL", "true")},
              {"spool.dir", env_or("QPLUG_SPOOL_CHILD_DIR", "/nonexistent")},
              {"spool.fsync", env_or("QPLUG_SPOOL_CHILD_FSYNC", "always")},
              {"spool.fsync_interval", "50ms"}},
             &st) != QPLUG_OK)
    _exit(2);
  auto q = d.declare(queue);
  if (!q) _exit(3);
  static ChildWork work;
  work.received_fd =
      ::open(env_or("QPLUG_SPOOL_CHILD_RECEIVED", "/dev/null").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  int processed_fd =
      ::open(env_or("QPLUG_SPOOL_CHILD_PROCESSED", "/dev/null").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (work.received_fd < 0 || processed_fd < 0) _exit(4);
  std::thread([processed_fd] {
    for (size_t done = 0; done < kProcessBeforeStall; ++done) {
      std::unique_lock lock(work.mu);
      work.cv.wait(lock, [] { return !work.todo.empty(); });
      auto [delivery, id] = work.todo.front();
      work.todo.pop_front();
      lock.unlock();
      std::this_thread::sleep_for(std::chrono::milliseconds(2));  // the work
      qplug_status sst = sdk::make_status();
      if (vtable()->settle(delivery, QPLUG_ACK, &sst) != QPLUG_OK) _exit(8);
      std::string line = id + "\n";
      if (::write(processed_fd, line.data(), line.size()) < 0) _exit(5);
    }
    // Stalled: what arrives from now on stays unsettled in `todo`.
  }).detach();
  auto opts = sdk::versioned<qplug_subscribe_options>();
  opts.prefetch = kPrefetch;
  if (vtable()->subscribe(q->handle, &opts, child_deliver, &work, &st) == nullptr) _exit(6);
  std::this_thread::sleep_for(std::chrono::seconds(120));  // the parent SIGKILLs it long before
  _exit(7);
}

const bool kIsChild = [] {
  if (const char* q = std::getenv("QPLUG_SPOOL_CHILD_QUEUE"); q != nullptr && *q != '\0') run_spool_child(q);
  return false;
}();

// Ids in file order (a line per id).
std::vector<std::string> lines_of(const std::string& file) {
  std::vector<std::string> out;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

// The one spool file in `dir` (each test uses a directory of its own).
std::string spool_file_in(const std::string& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".lmdb") return e.path().string();
  return {};
}

// Entries in an LMDB spool file, read with LMDB itself; -1 when unreadable.
long spool_entries(const std::string& file) {
  MDB_env* env = nullptr;
  long n = -1;
  if (mdb_env_create(&env) != 0) return -1;
  MDB_stat stat{};
  if (mdb_env_open(env, file.c_str(), MDB_NOSUBDIR | MDB_RDONLY, 0600) == 0 && mdb_env_stat(env, &stat) == 0)
    n = static_cast<long>(stat.ms_entries);
  mdb_env_close(env);
  return n;
}

class MqttSpool : public ConformanceTest {
 protected:
  // A fresh spool directory for this test under the run's (mqtt_target.cpp).
  std::string fresh_spool_dir() {
    const std::string base = qplug::testing::env_or("QPLUG_TEST_MQTT_SPOOL_DIR", "/tmp");
    fs::create_directories(base);  // for the consumer process's id files beside the spool
    static int n = 0;              // short: the path must fit in an error message with its reason
    std::string dir = base + "/s" + std::to_string(n++);
    fs::remove_all(dir);
    return dir;
  }
};

struct KillOutcome {
  std::vector<std::string> received;   // by the killed process, in order
  std::vector<std::string> processed;  // settled by it
  std::vector<std::string> held;       // received, not settled: in its handler at the kill
};

// Publishes `sent`, runs a consumer process on `queue` until it holds
// kPrefetch deliveries unsettled after processing kProcessBeforeStall, and
// SIGKILLs it.
void run_and_kill(Queue& q, const std::string& client_id, const std::string& spool, const std::string& spool_dir,
                  const std::string& fsync, const std::vector<std::string>& sent, KillOutcome* out) {
  for (const std::string& id : sent) ASSERT_EQ(q.publish(make_message(id, "x")), QPLUG_OK);
  const std::string received = spool_dir + ".received", processed = spool_dir + ".processed";
  std::remove(received.c_str());
  std::remove(processed.c_str());
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setenv("QPLUG_SPOOL_CHILD_QUEUE", q.name.c_str(), 1);
    ::setenv("QPLUG_SPOOL_CHILD_CLIENT_ID", client_id.c_str(), 1);
    ::setenv("QPLUG_SPOOL_CHILD_SPOOL", spool.c_str(), 1);
    ::setenv("QPLUG_SPOOL_CHILD_DIR", spool_dir.c_str(), 1);
    ::setenv("QPLUG_SPOOL_CHILD_FSYNC", fsync.c_str(), 1);
    ::setenv("QPLUG_SPOOL_CHILD_RECEIVED", received.c_str(), 1);
    ::setenv("QPLUG_SPOOL_CHILD_PROCESSED", processed.c_str(), 1);
    ::execl("/proc/self/exe", "mqtt_spool_test", static_cast<char*>(nullptr));
    _exit(127);
  }
  ASSERT_GT(pid, 0);
  auto held = [&] {
    std::set<std::string> p;
    for (const auto& id : lines_of(processed)) p.insert(id);
    std::vector<std::string> h;
    for (const auto& id : lines_of(received))
      if (p.count(id) == 0) h.push_back(id);
    return h;
  };
  const auto deadline = Clock::now() + kDeadline;
  int status = 0;
  bool exited = false;
  while (Clock::now() < deadline &&
         !(lines_of(processed).size() == kProcessBeforeStall && held().size() == kPrefetch)) {
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!exited) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  ASSERT_FALSE(exited) << "the consumer process exited by itself, status " << status;
  out->received = lines_of(received);
  out->processed = lines_of(processed);
  out->held = held();
  ASSERT_EQ(out->processed.size(), kProcessBeforeStall) << "the consumer process did not get going";
  ASSERT_EQ(out->held.size(), kPrefetch) << "the consumer process did not hold its prefetch unsettled";
  std::remove(received.c_str());
  std::remove(processed.c_str());
}

// Waits until the IDs processed before a kill plus those `got` received
// after the restart cover all `sent` messages.
bool every_id_seen(Collector& got, const std::set<std::string>& before, size_t sent) {
  return got.wait_until([&](const std::vector<Received>& v) {
    std::set<std::string> seen = before;
    for (const auto& r : v) seen.insert(r.message.id);
    return seen.size() == sent;
  });
}

std::vector<std::string> ids(const std::string& prefix, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(prefix + std::to_string(i));
  return out;
}

// (a), (b), (d): SIGKILL while the handler holds PUBACKed deliveries, then a
// restart with the same client ID: with the spool (each fsync mode) nothing
// is lost, and what the spool held is delivered first, in arrival order.
class MqttSpoolKill : public MqttSpool, public ::testing::WithParamInterface<const char*> {};

TEST_P(MqttSpoolKill, SigkilledHandlerLosesNothingAndTheSpoolReplaysFirst) {
  const std::string fsync = GetParam();
  const std::string name = unique_name();
  auto q = driver_.declare(name);
  ASSERT_TRUE(q);
  const std::string dir = fresh_spool_dir(), client_id = "spool-" + name;
  const std::vector<std::string> sent = ids("s", 120);
  KillOutcome k;
  ASSERT_NO_FATAL_FAILURE(run_and_kill(*q, client_id, "true", dir, fsync, sent, &k));
  const std::string file = spool_file_in(dir);
  ASSERT_FALSE(file.empty()) << "no spool file in " << dir;
  // What the handler held, plus settled ones whose removal had not been
  // committed yet (fsync always batches removals): those come again.
  const long spooled = spool_entries(file);
  EXPECT_GE(spooled, static_cast<long>(kPrefetch)) << "the spool holds what the handler held";
  EXPECT_LE(spooled, static_cast<long>(2 * kPrefetch)) << "duplicates are bounded";

  Driver again;
  qplug_status st = sdk::make_status();
  ASSERT_EQ(again.open({{"client_id", client_id}, {"spool.dir", dir}, {"spool.fsync", fsync}}, &st), QPLUG_OK)
      << describe(st);
  auto q2 = again.declare(name);
  ASSERT_TRUE(q2);
  {
    Collector got;
    Consumer c(*q2, got, nullptr, kPrefetch);
    ASSERT_TRUE(c.ok()) << describe(c.status());
    const std::set<std::string> all(k.processed.begin(), k.processed.end());
    EXPECT_TRUE(every_id_seen(got, all, sent.size()))
        << "processed " << k.processed.size() << " before the kill, " << got.count() << " after";
    // The spool comes first: its entries are the first deliveries, the held
    // ones in arrival order, the rest duplicates of processed ones.
    auto v = got.snapshot();
    ASSERT_GE(v.size(), static_cast<size_t>(spooled));
    std::vector<std::string> replayed_held;
    for (long i = 0; i < spooled; ++i) {
      const std::string& id = v[i].message.id;
      EXPECT_EQ(v[i].message.attempts, 2u) << "a replayed message counts its second delivery";
      if (all.count(id) != 0) continue;  // settled before the kill, removal not yet committed
      replayed_held.push_back(id);
    }
    EXPECT_EQ(replayed_held, k.held) << "the held deliveries come first, in arrival order";
  }  // unsubscribe + free: the spool file is closed
  again.close();
  EXPECT_EQ(spool_entries(file), 0) << "every replayed message was settled, so the spool is empty";
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(EveryFsyncMode, MqttSpoolKill, ::testing::Values("always", "interval", "never"));

// After a crash the resumed session's messages arrive right after the CONNACK,
// while subscribe() still waits for its SUBACKs on the network thread. With a
// slow handler the replay of the spool takes longer than connect_timeout; the
// network thread must not wait for it (it used to: subscribe then failed with
// "no SUBACK ... within connect_timeout", exactly when the spool is needed).
TEST_F(MqttSpool, SlowHandlersDuringTheReplayDoNotTimeTheSubscribeOut) {
  const std::string name = unique_name();
  auto q = driver_.declare(name);
  ASSERT_TRUE(q);
  const std::string dir = fresh_spool_dir(), client_id = "slow-" + name;
  const std::vector<std::string> sent = ids("w", 80);  // 40 processed, 8 held, 32 queued in the session
  KillOutcome k;
  ASSERT_NO_FATAL_FAILURE(run_and_kill(*q, client_id, "true", dir, "interval", sent, &k));
  Driver again;
  qplug_status st = sdk::make_status();
  ASSERT_EQ(again.open({{"client_id", client_id}, {"spool.dir", dir}, {"connect_timeout", "2s"}}, &st), QPLUG_OK)
      << describe(st);
  auto q2 = again.declare(name);
  ASSERT_TRUE(q2);
  {
    Collector got;
    // 400 ms per replayed delivery: 8 or more of them, one after another on
    // the replay thread, take longer than the 2 s connect_timeout.
    Consumer c(
        *q2, got,
        [](const Received& r) {
          if (r.message.attempts >= 2) std::this_thread::sleep_for(std::chrono::milliseconds(400));
          return static_cast<int32_t>(QPLUG_ACK);
        },
        kPrefetch);
    ASSERT_TRUE(c.ok()) << describe(c.status());
    const std::set<std::string> all(k.processed.begin(), k.processed.end());
    EXPECT_TRUE(every_id_seen(got, all, sent.size()))
        << "processed " << k.processed.size() << " before the kill, " << got.count() << " after";
    // The spool still comes first: the held deliveries lead, in arrival order.
    auto v = got.snapshot();
    std::vector<std::string> first;
    for (const auto& r : v) {
      if (first.size() == k.held.size()) break;
      if (all.count(r.message.id) == 0) first.push_back(r.message.id);
    }
    EXPECT_EQ(first, k.held) << "the held deliveries come first, in arrival order";
    for (const auto& r : v) {
      const bool held = std::find(k.held.begin(), k.held.end(), r.message.id) != k.held.end();
      if (!held && all.count(r.message.id) == 0) {
        EXPECT_EQ(r.message.attempts, 1u) << r.message.id << ": never delivered before, so its first attempt";
      }
    }
  }
  again.close();
  fs::remove_all(dir);
}

// (a), the other half: the same scenario without the spool loses exactly
// what the handler held (the documented window), which also shows the test
// above can fail.
TEST_F(MqttSpool, WithoutTheSpoolASigkilledHandlerLosesWhatItHeld) {
  const std::string name = unique_name();
  auto q = driver_.declare(name);
  ASSERT_TRUE(q);
  const std::string dir = fresh_spool_dir(), client_id = "nospool-" + name;
  const std::vector<std::string> sent = ids("n", 120);
  KillOutcome k;
  ASSERT_NO_FATAL_FAILURE(run_and_kill(*q, client_id, "false", dir, "always", sent, &k));
  EXPECT_FALSE(fs::exists(dir)) << "spool off writes no spool";

  Driver again;
  qplug_status st = sdk::make_status();
  ASSERT_EQ(again.open({{"client_id", client_id}, {"spool.enabled", "false"}}, &st), QPLUG_OK) << describe(st);
  auto q2 = again.declare(name);
  ASSERT_TRUE(q2);
  Collector got;
  Consumer c(*q2, got, nullptr, kPrefetch);
  ASSERT_TRUE(c.ok()) << describe(c.status());
  const std::set<std::string> held(k.held.begin(), k.held.end());
  std::set<std::string> expected;
  for (const auto& id : sent)
    if (held.count(id) == 0) expected.insert(id);
  // Everything but the held messages arrives; then a last message, behind
  // anything the session could still redeliver (a session queue is FIFO).
  std::set<std::string> processed(k.processed.begin(), k.processed.end());
  EXPECT_TRUE(got.wait_until([&](const std::vector<Received>& v) {
    std::set<std::string> seen = processed;
    for (const auto& r : v) seen.insert(r.message.id);
    for (const auto& id : expected)
      if (seen.count(id) == 0) return false;
    return true;
  })) << "got "
      << got.count();
  ASSERT_EQ(q2->publish(make_message("last", "x")), QPLUG_OK);
  ASSERT_TRUE(got.wait_until([](const std::vector<Received>& v) {
    for (const auto& r : v)
      if (r.message.id == "last") return true;
    return false;
  }));
  std::set<std::string> seen = processed;
  for (const auto& r : got.snapshot()) seen.insert(r.message.id);
  size_t lost = 0;
  for (const auto& id : sent) lost += seen.count(id) == 0 ? 1 : 0;
  for (const auto& id : sent) {
    if (seen.count(id) == 0) {
      EXPECT_EQ(held.count(id), 1u) << id << " lost although it was not in the handler";
    }
  }
  // The last held delivery's PUBACK may not have left before the kill (then
  // the broker redelivers it); the others had left.
  EXPECT_GE(lost, kPrefetch - 1) << "without the spool the held deliveries are lost";
}

// (c): a clean run (acks, requeues, and an unsubscribe that hands back what
// is still held) leaves the spool empty.
TEST_F(MqttSpool, SettlingAndUnsubscribingEmptyTheSpool) {
  const std::string name = unique_name();
  const std::string dir = fresh_spool_dir();
  Driver d;
  qplug_status st = sdk::make_status();
  ASSERT_EQ(d.open({{"client_id", "clean-" + name}, {"spool.dir", dir}}, &st), QPLUG_OK) << describe(st);
  auto q = d.declare(name);
  ASSERT_TRUE(q);
  for (const auto& id : ids("c", 60)) ASSERT_EQ(q->publish(make_message(id, "x")), QPLUG_OK);
  {
    Collector got;
    // Requeue every message once, ack the second delivery, hold the last few.
    Consumer c(
        *q, got,
        [](const Received& r) {
          if (r.message.attempts < 2) return static_cast<int32_t>(QPLUG_NACK_REQUEUE);
          const bool last_five = r.message.id.size() == 3 && r.message.id >= "c55";
          return last_five ? kHold : static_cast<int32_t>(QPLUG_ACK);
        },
        kPrefetch);
    ASSERT_TRUE(c.ok()) << describe(c.status());
    EXPECT_TRUE(got.wait_until([](const std::vector<Received>& v) {
      std::set<std::string> acked;
      for (const auto& r : v)
        if (r.message.attempts >= 2) acked.insert(r.message.id);
      return acked.size() == 60;
    })) << "got "
        << got.count();
    // Unsubscribe hands the held ones back; their later settle answers
    // CANCELED and frees them (the host owns a delivery until it settles it).
    c.free();
    got.settle_held(QPLUG_ACK);
  }  // the spool is closed
  const std::string file = spool_file_in(dir);
  ASSERT_FALSE(file.empty()) << "no spool file in " << dir;
  EXPECT_EQ(spool_entries(file), 0);
  // The held messages went back to the queue (not lost).
  Collector again;
  Consumer c2(*q, again, nullptr, kPrefetch);
  ASSERT_TRUE(c2.ok()) << describe(c2.status());
  EXPECT_TRUE(again.wait_for(5)) << "handed back: " << again.count();
  c2.free();
  d.close();
  fs::remove_all(dir);
}

// A member number freed by an unsubscribe (or a failed subscribe) is taken
// by the next subscribe of that group, which so resumes the same session and
// spool; a new number would leave the old session offline in the group,
// taking its round-robin share until session_expiry.
TEST_F(MqttSpool, ResubscribingTakesTheFreedMemberNumber) {
  const std::string name = unique_name();
  const std::string dir = fresh_spool_dir();
  Driver d;
  qplug_status st = sdk::make_status();
  ASSERT_EQ(d.open({{"client_id", "again-" + name}, {"spool.dir", dir}}, &st), QPLUG_OK) << describe(st);
  auto q = d.declare(name);
  ASSERT_TRUE(q);
  for (int round = 0; round < 3; ++round) {
    Collector got;
    Consumer c(*q, got, nullptr, kPrefetch);
    ASSERT_TRUE(c.ok()) << describe(c.status());
    c.free();
  }
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".lmdb") {
      ++files;
      EXPECT_NE(e.path().filename().string().find("c0"), std::string::npos) << e.path();
    }
  EXPECT_EQ(files, 1u) << "every subscribe after the first made a new session";
  d.close();
  fs::remove_all(dir);
}

// (e): an unusable directory and a damaged spool file fail subscribe with an
// error naming the path; the driver opens fine (the spool is per consumer).
TEST_F(MqttSpool, UnusableSpoolDirectoryFailsSubscribeNamingThePath) {
  const std::string name = unique_name();
  Driver d;
  qplug_status st = sdk::make_status();
  ASSERT_EQ(d.open({{"client_id", "bad" + std::to_string(::getpid())}, {"spool.dir", "/dev/null/spool"}}, &st),
            QPLUG_OK)
      << describe(st);
  auto q = d.declare(name);
  ASSERT_TRUE(q);
  Collector got;
  Consumer c(*q, got, nullptr);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(std::string(c.status().message).find("/dev/null/spool"), std::string::npos) << describe(c.status());
  EXPECT_NE(std::string(c.status().message).find("spool.dir"), std::string::npos) << describe(c.status());
}

TEST_F(MqttSpool, DamagedSpoolFileFailsSubscribeNamingThePath) {
  const std::string name = unique_name();
  const std::string dir = fresh_spool_dir();
  Driver d;
  qplug_status st = sdk::make_status();
  ASSERT_EQ(d.open({{"client_id", "dmg" + std::to_string(::getpid())}, {"spool.dir", dir}}, &st), QPLUG_OK)
      << describe(st);
  auto q = d.declare(name);
  ASSERT_TRUE(q);
  {
    Collector got;
    Consumer c(*q, got, nullptr);
    ASSERT_TRUE(c.ok()) << describe(c.status());
  }
  const std::string file = spool_file_in(dir);
  ASSERT_FALSE(file.empty());
  {
    std::ofstream damage(file, std::ios::binary | std::ios::trunc);
    damage << std::string(8192, 'x');
  }
  // A new instance, so its first consumer is the same session (c0) again.
  Driver d2;
  ASSERT_EQ(d2.open({{"client_id", "dmg" + std::to_string(::getpid())}, {"spool.dir", dir}}, &st), QPLUG_OK)
      << describe(st);
  auto q2 = d2.declare(name);
  ASSERT_TRUE(q2);
  Collector got;
  Consumer c(*q2, got, nullptr);
  ASSERT_FALSE(c.ok()) << "a damaged spool was used";
  EXPECT_NE(std::string(c.status().message).find(file), std::string::npos) << describe(c.status());
  fs::remove_all(dir);
}

// Two driver instances in one process with the same client_id would replay
// one spool twice: the second consumer is refused, naming the spool.
TEST_F(MqttSpool, ASpoolHasOneOwner) {
  const std::string name = unique_name();
  const std::string dir = fresh_spool_dir();
  Driver a, b;
  qplug_status st = sdk::make_status();
  ASSERT_EQ(a.open({{"client_id", "owner-" + name}, {"spool.dir", dir}}, &st), QPLUG_OK) << describe(st);
  ASSERT_EQ(b.open({{"client_id", "owner-" + name}, {"spool.dir", dir}}, &st), QPLUG_OK) << describe(st);
  auto qa = a.declare(name);
  auto qb = b.declare(name);
  ASSERT_TRUE(qa && qb);
  Collector got;
  Consumer first(*qa, got, nullptr);
  ASSERT_TRUE(first.ok()) << describe(first.status());
  Consumer second(*qb, got, nullptr);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(std::string(second.status().message).find("in use"), std::string::npos) << describe(second.status());
  first.free();
  a.close();
  b.close();
  fs::remove_all(dir);
}

// Settings: unknown spool keys and bad values are INVALID naming the key.
TEST_F(MqttSpool, SpoolSettingsAreCheckedNamingTheKey) {
  const std::string url = qplug::testing::broker_url(qplug::testing::kMosquitto);
  const std::vector<std::pair<KeyValues, std::string>> bad = {
      {{{"spool.bogus", "1"}}, "'spool.bogus'"},
      {{{"spool.fsync", "sometimes"}}, "'spool.fsync'"},
      {{{"spool.enabled", "perhaps"}}, "'spool.enabled'"},
      {{{"spool.fsync_interval", "0"}}, "'spool.fsync_interval'"},
      {{{"spool.fsync_interval", "soon"}}, "'spool.fsync_interval'"},
  };
  for (const auto& [extra, key] : bad) {
    KeyValues config = {{"url", url}};
    config.insert(config.end(), extra.begin(), extra.end());
    std::vector<qplug_kv> kv = to_kv(config);
    qplug_status st = sdk::make_status();
    qplug_driver* d = vt_->open(nullptr, kv.data(), kv.size(), &st);
    EXPECT_EQ(d, nullptr) << key;
    if (d != nullptr) vt_->close(d, 5000);
    EXPECT_EQ(st.code, QPLUG_INVALID) << key;
    EXPECT_NE(std::string(st.message).find(key), std::string::npos) << key << ": " << st.message;
  }
}

// Capabilities per instance (ABI 1.1 instance_capabilities): ack after
// processing only with the spool.
TEST_F(MqttSpool, AckAfterProcessingIsClaimedOnlyWithTheSpool) {
  ASSERT_NE(vt_->instance_capabilities, nullptr);
  EXPECT_NE(vt_->capabilities & QPLUG_CAP_ACK_AFTER_PROCESSING, 0u) << "the default (spool on) claims it";
  EXPECT_NE(vt_->instance_capabilities(driver_.handle) & QPLUG_CAP_ACK_AFTER_PROCESSING, 0u);
  Driver off;
  qplug_status st = sdk::make_status();
  ASSERT_EQ(off.open({{"spool.enabled", "false"}}, &st), QPLUG_OK) << describe(st);
  const uint64_t caps = vt_->instance_capabilities(off.handle);
  EXPECT_EQ(caps & QPLUG_CAP_ACK_AFTER_PROCESSING, 0u);
  EXPECT_EQ(caps | QPLUG_CAP_ACK_AFTER_PROCESSING | QPLUG_CAP_DELAY, vt_->capabilities)
      << "nothing else changes but delay (DelayNeedsTheSpool)";
}

// Spool records (mqtt_spool_record.hpp): version 1, which earlier builds
// wrote and users' spools hold, still reads (due 0); a delayed message is a
// version 2 record with its due time; an undelayed one stays version 1.
TEST(MqttSpoolRecord, Version1RecordsStillReadAndDelayedOnesKeepTheirDueTime) {
  auto u32 = [](uint32_t v) {
    std::string out;
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
    return out;
  };
  auto str = [&](const std::string& v) { return u32(static_cast<uint32_t>(v.size())) + v; };
  // Written out by hand, byte by byte, as version 1 lays it out.
  std::string v1(1, '\x01');
  v1 += u32(3) + str("id-1") + str("text/plain") + str("body") + u32(1) + str("n");
  v1.push_back(static_cast<char>(QPLUG_VALUE_INT64));
  v1 += std::string("\x05\0\0\0\0\0\0\0", 8);
  int64_t due = -1;
  auto m = mqtt::decode_spool_record(v1, &due);
  ASSERT_TRUE(m) << "a version 1 record is refused";
  EXPECT_EQ(due, 0);
  EXPECT_EQ(m->attempts, 3u);
  EXPECT_EQ(m->id, "id-1");
  EXPECT_EQ(m->content_type, "text/plain");
  EXPECT_EQ(m->body, "body");
  ASSERT_EQ(m->headers.size(), 1u);
  EXPECT_EQ(m->headers[0].key, "n");
  EXPECT_EQ(m->headers[0].i64, 5);
  EXPECT_EQ(mqtt::encode_spool_record(*m), v1) << "an undelayed message is written as version 1";

  const std::string v2 = mqtt::encode_spool_record(*m, 1'800'000'000'123);
  EXPECT_EQ(v2[0], '\x02');
  auto back = mqtt::decode_spool_record(v2, &due);
  ASSERT_TRUE(back);
  EXPECT_EQ(due, 1'800'000'000'123);
  EXPECT_EQ(back->id, "id-1");
  EXPECT_EQ(back->body, "body");
  EXPECT_FALSE(mqtt::decode_spool_record(v2.substr(0, 9))) << "a cut record is refused, never guessed at";
  std::string zero_due = v2;
  for (int i = 5; i < 13; ++i) zero_due[i] = '\0';
  EXPECT_FALSE(mqtt::decode_spool_record(zero_due)) << "version 2 without a due time is damage";
}

// ---------------------------------------------------------------------------
// Delay (docs/drivers/mqtt.md, "Delay"): a message not due yet waits in the
// consumer's spool, not at the broker.
// ---------------------------------------------------------------------------
using WallClock = std::chrono::system_clock;

// When the (last) delivery reached the handler, on the wall clock due times use.
struct ArrivalTime {
  std::mutex mu;
  WallClock::time_point at{};
  Policy ack_and_record() {
    return [this](const Received&) {
      std::lock_guard lock(mu);
      at = WallClock::now();
      return static_cast<int32_t>(QPLUG_ACK);
    };
  }
  WallClock::time_point get() {
    std::lock_guard lock(mu);
    return at;
  }
};

sdk::OwnedMessage delayed(const std::string& id, int64_t delay_ms) {
  auto m = make_message(id, "x");
  add_header(m, "delay", QPLUG_VALUE_INT64, delay_ms);
  return m;
}

// The queue's local counts (the driver's queue_info: what this process holds).
int64_t held_locally(Queue& q) {
  auto info = sdk::versioned<qplug_queue_info>();
  qplug_status st = sdk::make_status();
  if (q.vt->queue_info == nullptr || q.vt->queue_info(q.handle, &info, &st) != QPLUG_OK) return -2;
  return info.in_flight;
}

// Without the spool there is no durable place for a scheduled message: the
// instance does not claim delay, and a delayed publish is INVALID naming the
// header and the setting (an immediate one, delay 0, still goes).
TEST_F(MqttSpool, DelayNeedsTheSpool) {
  EXPECT_NE(vt_->capabilities & QPLUG_CAP_DELAY, 0u) << "the default (spool on) claims delay";
  EXPECT_NE(vt_->instance_capabilities(driver_.handle) & QPLUG_CAP_DELAY, 0u);
  Driver off;
  qplug_status st = sdk::make_status();
  ASSERT_EQ(off.open({{"spool.enabled", "false"}}, &st), QPLUG_OK) << describe(st);
  EXPECT_EQ(vt_->instance_capabilities(off.handle) & QPLUG_CAP_DELAY, 0u);
  auto q = off.declare(unique_name());
  ASSERT_TRUE(q);
  st = sdk::make_status();
  EXPECT_EQ(q->publish(delayed("late", 5000), &st), QPLUG_INVALID) << describe(st);
  EXPECT_NE(std::string(st.message).find("'delay'"), std::string::npos) << describe(st);
  EXPECT_NE(std::string(st.message).find("spool.enabled"), std::string::npos) << describe(st);
  st = sdk::make_status();
  EXPECT_EQ(q->publish(delayed("now", 0), &st), QPLUG_OK) << describe(st);
}

// A delayed message scheduled in a consumer process's spool survives a
// SIGKILL of that process: the restarted consumer (same client ID, same
// spool) delivers it once, not before its due time, as its first delivery.
TEST_F(MqttSpool, ScheduledMessageSurvivesSigkillAndIsDeliveredWhenDue) {
  constexpr int64_t kDelayMs = 8000;
  const std::string name = unique_name();
  auto q = driver_.declare(name);
  ASSERT_TRUE(q);
  const std::string dir = fresh_spool_dir(), client_id = "dkill-" + name;
  const auto published_at = WallClock::now();
  ASSERT_EQ(q->publish(delayed("late", kDelayMs)), QPLUG_OK);
  const std::string received = dir + ".received";
  std::remove(received.c_str());
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setenv("QPLUG_SPOOL_CHILD_QUEUE", q->name.c_str(), 1);
    ::setenv("QPLUG_SPOOL_CHILD_CLIENT_ID", client_id.c_str(), 1);
    ::setenv("QPLUG_SPOOL_CHILD_DIR", dir.c_str(), 1);
    ::setenv("QPLUG_SPOOL_CHILD_RECEIVED", received.c_str(), 1);
    ::execl("/proc/self/exe", "mqtt_spool_test", static_cast<char*>(nullptr));
    _exit(127);
  }
  ASSERT_GT(pid, 0);
  // The process took it over from the queue's anchor and scheduled it: one
  // spool entry, nothing handed to its handler.
  std::string file;
  const auto deadline = Clock::now() + kDeadline;
  while (Clock::now() < deadline) {
    file = spool_file_in(dir);
    if (!file.empty() && spool_entries(file) == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const auto killed_at = WallClock::now();
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_FALSE(file.empty()) << "the consumer process wrote no spool in " << dir;
  ASSERT_EQ(spool_entries(file), 1) << "the delayed message is not in the consumer's spool";
  EXPECT_TRUE(lines_of(received).empty()) << "the consumer process handed it out before its due time";
  if (killed_at - published_at >= std::chrono::milliseconds(kDelayMs))
    GTEST_SKIP() << "the box was too slow: the message was due before the kill";

  Driver again;
  qplug_status st = sdk::make_status();
  ASSERT_EQ(again.open({{"client_id", client_id}, {"spool.dir", dir}}, &st), QPLUG_OK) << describe(st);
  auto q2 = again.declare(name);
  ASSERT_TRUE(q2);
  {
    Collector got;
    ArrivalTime arrived;
    Consumer c(*q2, got, arrived.ack_and_record(), kPrefetch);
    ASSERT_TRUE(c.ok()) << describe(c.status());
    ASSERT_TRUE(got.wait_for(1, std::chrono::milliseconds(kDelayMs) + kDeadline)) << "the scheduled message was lost";
    quiet_period();
    auto v = got.snapshot();
    ASSERT_EQ(v.size(), 1u) << "delivered more than once";
    EXPECT_EQ(v[0].message.id, "late");
    EXPECT_EQ(v[0].message.attempts, 1u) << "it was never handed out before";
    EXPECT_GE(arrived.get() - published_at, std::chrono::milliseconds(kDelayMs)) << "delivered before its due time";
    bool has_delay_header = false;
    for (const auto& h : v[0].message.headers) has_delay_header |= h.key == "delay";
    EXPECT_FALSE(has_delay_header) << "the delay header is consumed at publish, as on redis and amqp";
  }
  again.close();
  EXPECT_EQ(spool_entries(file), 0) << "settled: the spool is empty";
  fs::remove_all(dir);
}

// unsubscribe hands a scheduled message back WITH its due time: the next
// member keeps the schedule instead of delivering it at once, and the
// spool of the member that left is empty.
TEST_F(MqttSpool, UnsubscribeHandsScheduledMessagesBackWithTheirDueTime) {
  constexpr int64_t kDelayMs = 8000;
  const std::string name = unique_name();
  const std::string dir = fresh_spool_dir();
  Driver a;
  qplug_status st = sdk::make_status();
  ASSERT_EQ(a.open({{"client_id", "dback-a-" + name}, {"spool.dir", dir}}, &st), QPLUG_OK) << describe(st);
  auto qa = a.declare(name);
  ASSERT_TRUE(qa);
  Collector first;
  Consumer c(*qa, first, nullptr, 1);
  ASSERT_TRUE(c.ok()) << describe(c.status());
  const auto published_at = WallClock::now();
  ASSERT_EQ(qa->publish(delayed("kept", kDelayMs)), QPLUG_OK);
  ASSERT_EQ(qa->publish(make_message("now", "x")), QPLUG_OK);
  ASSERT_TRUE(first.wait_for(1)) << "an immediate message waited behind the delayed one";
  const auto deadline = Clock::now() + kDeadline;
  while (Clock::now() < deadline && held_locally(*qa) != 1) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(held_locally(*qa), 1) << "queue_info counts the scheduled message as held here";
  c.free();
  const auto handed_back_at = WallClock::now();
  EXPECT_EQ(first.count(), 1u) << "the delayed message was handed out before its due time";
  EXPECT_EQ(spool_entries(spool_file_in(dir)), 0) << "handed back: its spool entry is removed";
  if (handed_back_at - published_at >= std::chrono::milliseconds(kDelayMs))
    GTEST_SKIP() << "the box was too slow: the message was due before the hand-back";

  Driver b;
  ASSERT_EQ(b.open({{"client_id", "dback-b-" + name}, {"spool.dir", dir + "b"}}, &st), QPLUG_OK) << describe(st);
  auto qb = b.declare(name);
  ASSERT_TRUE(qb);
  Collector second;
  ArrivalTime arrived;
  Consumer c2(*qb, second, arrived.ack_and_record(), 1);
  ASSERT_TRUE(c2.ok()) << describe(c2.status());
  ASSERT_TRUE(second.wait_for(1, std::chrono::milliseconds(kDelayMs) + kDeadline))
      << "the handed-back message was lost";
  auto v = second.snapshot();
  EXPECT_EQ(v[0].message.id, "kept");
  EXPECT_EQ(v[0].message.attempts, 1u) << "never handed out: no delivery counted";
  EXPECT_GE(arrived.get() - published_at, std::chrono::milliseconds(kDelayMs)) << "the hand-back lost the due time";
  c2.free();
  b.close();
  a.close();
  fs::remove_all(dir);
  fs::remove_all(dir + "b");
}

}  // namespace
}  // namespace qplug::conformance
