// tests/integration/chaos/chaos_test.cpp -- the chaos suite (issue 11 item
// 1): per broker driver, 4 publisher processes (`qplug lua publish.lua`)
// publish 10k messages with IDs while 3 `qplug run` consumer processes
// (record.lua) process them; meanwhile the broker is restarted twice, one
// consumer process is SIGKILLed and started again, another gets SIGTERM,
// must drain gracefully (exit 0) and is started again. Afterwards every ID
// whose publish returned success was processed at least once (lost 0), and
// the duplicates stay within what the driver's capabilities allow (see
// duplicate_bound()). One summary line per driver goes to stdout and to
// chaos-<driver>.summary (docs/guarantees.md quotes it).
//
// tools/chaos-soak.sh runs the same scenario with bigger numbers
// (QPLUG_CHAOS_MESSAGES, QPLUG_CHAOS_ROUNDS: every round restarts the
// broker twice and kills and stops a consumer once each).
#include <gtest/gtest.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#ifdef QPLUG_CHAOS_WITH_MOSQUITTO
#include "mosquitto_drop_watch.hpp"
#endif
#include "broker_env.hpp"
#include "chaos_tally.hpp"
#include "child_process.hpp"
#include "driver_yaml.hpp"

namespace qplug::chaos {
namespace {

using namespace std::chrono_literals;
using qplug::testing::Broker;
using qplug::testing::eventually;

constexpr int kPublishers = 4;
constexpr int kConsumers = 3;
constexpr int kPrefetch = 10;                 // per consumer process (one subscription)
constexpr int kConcurrency = 2;               // handler workers per consumer process
constexpr int kPaceEvery = 25;                // a publisher pauses after this many messages...
constexpr const char* kPaceSeconds = "0.05";  // ...for this long: ~5 s of publishing per 2500 messages

// One parameter: a driver.
struct Case {
  Broker broker;
  const char* name;  // the test's name suffix and the summary's driver name
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

int env_int(const char* name, int fallback) {
  const std::string v = qplug::testing::env_or(name, "");
  return v.empty() ? fallback : std::atoi(v.c_str());
}

// Driver settings of this suite. All: reconnect.max_delay 1 s, so a process
// finds the restarted broker within a second (the default 10 s would only
// make the test longer). redis: a crashed consumer's entries are taken over
// after claim_idle (default 30 s), 3 s keeps the test short and is still far
// above the handler's run time. mqtt: a stable client_id per consumer
// process (${QPLUG_CHAOS_WORKER}, expanded by the config loader), so a
// restarted process resumes its durable session, and a spool directory of
// the test's own: the spool (on by default) is what keeps the deliveries a
// SIGKILLed consumer held, since mqtt PUBACKs when the callback returns.
std::string driver_settings(const Case& c, const std::string& unique, bool consumer) {
  std::string s = "reconnect.max_delay: 1s";
  if (c.broker.name == qplug::testing::kRedis.name) s += ", claim_idle: 3s";
  if (c.broker.name == qplug::testing::kMosquitto.name) {
    s += ", session_expiry: 10m";
    if (consumer) {
      s += ", client_id: '" + unique + "-${QPLUG_CHAOS_WORKER}'";
      s += ", spool.dir: '" + ::testing::TempDir() + unique + "-spool'";
    }
  }
  return s;
}

std::string config_yaml(const Case& c, const std::string& url, const std::string& unique, bool consumer) {
  std::string yaml = "version: 1\nnamespace: chaos\nentries:\n" +
                     qplug::testing::driver_yaml(c.broker, url, unique, driver_settings(c, unique, consumer)) +
                     "  - {kind: queue.queue, name: jobs, driver: broker, queue_name: " + unique + "-jobs}\n";
  if (consumer) {
    yaml +=
        "  - kind: queue.consumer\n"
        "    id: worker\n"
        "    queue: chaos:jobs\n"
        "    source: " QPLUG_CHAOS_DIR
        "/record.lua\n"
        "    method: record\n"
        "    modules: [io, os]\n"
        "    concurrency: " +
        std::to_string(kConcurrency) + "\n    prefetch: " + std::to_string(kPrefetch) + "\n";
  }
  return yaml;
}

// The duplicates the scenario may cause, and why (at-least-once: a message
// processed but not acknowledged when its consumer or the broker went away
// is delivered again; a publish whose confirmation was lost is stored twice).
//  - each SIGKILL: the killed process held at most kPrefetch unacked
//    deliveries, any of them may have been processed (record.lua wrote the
//    line) before the ack reached the broker;
//  - each broker restart, per consumer process: what it held unacked (at
//    most kPrefetch) is delivered again. amqp: the broker requeues every
//    unacked delivery of a closed channel, including processed ones whose
//    (coalesced) ack had not left. mqtt: the broker resends its in-flight
//    QoS 1 deliveries (Receive Maximum = prefetch). redis: a pending entry
//    whose XACK was lost with the connection is acked again after the
//    reconnect, but another consumer's XAUTOCLAIM may take it first when the
//    reconnect takes longer than claim_idle (3 s here);
//  - each broker restart, per publisher: its one synchronous publish in
//    flight may be stored and then sent again by the driver (redis resends
//    XADDs whose reply was lost, libmosquitto resends unacknowledged QoS 1
//    publishes on reconnect);
//  - each retried publish (publish.lua counts them): the failed attempt may
//    have been stored anyway.
// SIGTERM adds nothing: a graceful drain acks what it processed and hands
// back the rest unprocessed.
size_t duplicate_bound(int kills, int restarts, size_t publish_retries) {
  return static_cast<size_t>(kills * kPrefetch + restarts * kConsumers * kPrefetch + restarts * kPublishers) +
         publish_retries;
}

// One consumer slot: the `qplug run` process now running in it, and every
// file its incarnations wrote.
struct Consumer {
  pid_t pid = -1;
  std::string out;  // the current incarnation's processed IDs
  std::string log;
  int incarnations = 0;
};

class Chaos : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    const Case& c = GetParam();
    url_ = qplug::testing::broker_url(c.broker);
    if (std::string why = qplug::testing::broker_unreachable(c.broker, url_); !why.empty()) {
      if (qplug::testing::brokers_required()) FAIL() << why;
      GTEST_SKIP() << why;
    }
    unique_ = qplug::testing::unique_name(std::string("chaos-") + c.name);
    dir_ = ::testing::TempDir() + unique_;
    ASSERT_EQ(std::system(("mkdir -p " + dir_).c_str()), 0);
    consumer_config_ = dir_ + "/consumer.yaml";
    publisher_config_ = dir_ + "/publisher.yaml";
    ASSERT_TRUE(qplug::testing::write_text_file(consumer_config_, config_yaml(c, url_, unique_, true)));
    ASSERT_TRUE(qplug::testing::write_text_file(publisher_config_, config_yaml(c, url_, unique_, false)));
  }

  void TearDown() override {
    for (Consumer& c : consumers_) {
      if (c.pid > 0) {
        ::kill(c.pid, SIGKILL);
        qplug::testing::wait_child(c.pid);
      }
    }
    for (pid_t pid : publishers_) {
      if (pid > 0) {
        ::kill(pid, SIGKILL);
        qplug::testing::wait_child(pid);
      }
    }
    // The files stay for a failed run (the messages name the directory).
    if (!dir_.empty() && !HasFailure()) qplug::testing::run_command("rm -rf '" + dir_ + "'");
    if (GetParam().broker.name == qplug::testing::kRedis.name && !unique_.empty()) {
      qplug::testing::run_command("redis-cli -u " + url_ + " --scan --pattern '" + unique_ +
                                  "-*' | xargs -r redis-cli -u " + url_ + " DEL >/dev/null");
    }
  }

  // Starts (or restarts) the consumer process of `slot` with a new file,
  // and waits until it says its consumer started.
  void start_consumer(int slot) {
    Consumer& c = consumers_[slot];
    const std::string base = dir_ + "/consumer" + std::to_string(slot) + "." + std::to_string(c.incarnations++);
    c.out = base + ".ids";
    c.log = base + ".log";
    processed_files_.push_back(c.out);
    c.pid = qplug::testing::spawn_child({QPLUG_BIN, "run", consumer_config_}, c.log,
                                        {"QPLUG_CHAOS_WORKER=" + std::to_string(slot), "QPLUG_CHAOS_OUT=" + c.out});
    ASSERT_GT(c.pid, 0) << "cannot start " << QPLUG_BIN;
    ASSERT_TRUE(eventually(
        [&] { return qplug::testing::run_command("cat " + c.log).find("consumer(s)") != std::string::npos; }, 60s))
        << "consumer " << slot << " did not start: " << qplug::testing::run_command("cat " + c.log);
  }

  // Waits until consumer `slot` processed something more (so a signal
  // catches it with deliveries in hand), unless publishing is over (then
  // there may be nothing left to process: the soak script's small runs).
  void wait_until_consuming(int slot) {
    const std::string out = consumers_[slot].out;
    const size_t before = qplug::testing::whole_lines(out).size();
    EXPECT_TRUE(eventually(
        [&] {
          return qplug::testing::whole_lines(out).size() > before ||
                 published_so_far() >= static_cast<size_t>(messages_);
        },
        60s))
        << "consumer " << slot << " processed nothing for 60 s (log " << consumers_[slot].log << ")";
  }

  size_t published_so_far() const {
    size_t n = 0;
    for (const std::string& f : published_files_) n += qplug::testing::whole_lines(f).size();
    return n;
  }

  void wait_for_published(size_t n) {
    EXPECT_TRUE(eventually([&] { return published_so_far() >= n; }, 180s))
        << "published " << published_so_far() << " of the " << n << " this step waits for";
  }

  void restart_broker() {
    EXPECT_TRUE(qplug::testing::restart_broker(GetParam().broker)) << "brokers.sh restart failed";
    ++restarts_;
  }

  void sigkill_and_restart(int slot) {
    wait_until_consuming(slot);
    ::kill(consumers_[slot].pid, SIGKILL);
    qplug::testing::wait_child(consumers_[slot].pid);
    ++kills_;
    start_consumer(slot);
  }

  void sigterm_and_restart(int slot) {
    wait_until_consuming(slot);
    ::kill(consumers_[slot].pid, SIGTERM);
    std::string how;
    EXPECT_TRUE(qplug::testing::wait_child(consumers_[slot].pid, &how))
        << "consumer " << slot << " did not drain gracefully on SIGTERM: " << how << "; log "
        << qplug::testing::run_command("tail -n 20 " + consumers_[slot].log);
    start_consumer(slot);
  }

  size_t publish_retries() const {
    size_t n = 0;
    for (const std::string& f : published_files_) {
      for (const std::string& line : qplug::testing::whole_lines(f + ".retries")) {
        if (line.rfind("retries ", 0) == 0) n += std::stoul(line.substr(8));
      }
    }
    return n;
  }

  std::string url_, unique_, dir_, consumer_config_, publisher_config_;
  Consumer consumers_[kConsumers];
  std::vector<pid_t> publishers_;
  std::vector<std::string> published_files_, processed_files_;
  int restarts_ = 0, kills_ = 0;
  int messages_ = 0;  // what the publishers publish in all
};

TEST_P(Chaos, EveryAcknowledgedPublishIsProcessedThroughRestartsKillsAndDrains) {
  const Case& c = GetParam();
  const int messages = env_int("QPLUG_CHAOS_MESSAGES", 10000);
  messages_ = messages;
  const int rounds = env_int("QPLUG_CHAOS_ROUNDS", 1);
  ASSERT_GT(messages, 0);
  ASSERT_GT(rounds, 0);
#ifdef QPLUG_CHAOS_WITH_MOSQUITTO
  std::unique_ptr<qplug::testing::MosquittoDropWatch> drops;
  if (c.broker.name == qplug::testing::kMosquitto.name) {
    drops = std::make_unique<qplug::testing::MosquittoDropWatch>(url_);
    ASSERT_TRUE(drops->ok()) << drops->error();
  }
#endif
  for (int slot = 0; slot < kConsumers; ++slot) {
    start_consumer(slot);
    if (HasFatalFailure()) return;
  }
  const int per_publisher = (messages + kPublishers - 1) / kPublishers;
  for (int p = 0; p < kPublishers; ++p) {
    const int first = p * per_publisher;
    const int count = std::min(per_publisher, messages - first);
    const std::string out = dir_ + "/publisher" + std::to_string(p) + ".ids";
    published_files_.push_back(out);
    const pid_t pid = qplug::testing::spawn_child(
        {QPLUG_BIN, "lua", publisher_config_, QPLUG_CHAOS_DIR "/publish.lua", std::to_string(first),
         std::to_string(count), out, std::to_string(kPaceEvery), kPaceSeconds},
        dir_ + "/publisher" + std::to_string(p) + ".log");
    ASSERT_GT(pid, 0);
    publishers_.push_back(pid);
  }

  // The faults, spread over the publishing: each round restarts the broker
  // at 1/10 and 5/10 of its share, kills consumer 0 at 3/10 and stops
  // consumer 1 at 7/10.
  for (int round = 0; round < rounds; ++round) {
    const size_t base = static_cast<size_t>(messages) * round / rounds;
    const size_t share = static_cast<size_t>(messages) / rounds;
    wait_for_published(base + share / 10);
    restart_broker();
    wait_for_published(base + share * 3 / 10);
    sigkill_and_restart(0);
    if (HasFatalFailure()) return;
    wait_for_published(base + share * 5 / 10);
    restart_broker();
    wait_for_published(base + share * 7 / 10);
    sigterm_and_restart(1);
    if (HasFatalFailure()) return;
  }
  for (size_t p = 0; p < publishers_.size(); ++p) {
    std::string how;
    EXPECT_TRUE(qplug::testing::wait_child(publishers_[p], &how))
        << "publisher " << p << ": " << how << ": "
        << qplug::testing::run_command("tail -n 5 " + dir_ + "/publisher" + std::to_string(p) + ".log");
    publishers_[p] = -1;
  }

  // Every acknowledged ID processed (or the deadline passed: then the tally
  // below names what is missing).
  eventually(
      [&] {
        const Tally t = tally(published_files_, processed_files_);
        return t.lost == 0;
      },
      120s);
  for (int slot = 0; slot < kConsumers; ++slot) {
    ::kill(consumers_[slot].pid, SIGTERM);
    std::string how;
    EXPECT_TRUE(qplug::testing::wait_child(consumers_[slot].pid, &how)) << "consumer " << slot << ": " << how;
    consumers_[slot].pid = -1;
  }

  const Tally t = tally(published_files_, processed_files_);
  const std::string summary = summary_line(qplug::testing::driver_name(c.broker), t);
  std::cout << summary + "\n" << std::flush;
  std::ofstream(std::string(QPLUG_CHAOS_SUMMARY_DIR) + "/chaos-" + c.name + ".summary", std::ios::app)
      << summary << " (rounds " << rounds << ", broker restarts " << restarts_ << ", SIGKILLs " << kills_
      << ", SIGTERMs " << rounds << ", publish retries " << publish_retries() << ")\n";

  EXPECT_EQ(t.published, static_cast<size_t>(messages)) << "every publisher retries until its publish succeeds";
  std::string lost_ids;
  for (const std::string& id : t.lost_ids) lost_ids += ' ' + id;
  EXPECT_EQ(t.lost, 0u) << "lost IDs (first " << t.lost_ids.size() << "):" << lost_ids << "; files in " << dir_;
  EXPECT_EQ(t.unexpected, 0u) << "IDs processed that no publish returned success for";
  const size_t bound = duplicate_bound(kills_, restarts_, publish_retries());
  EXPECT_LE(t.duplicates, bound) << "duplicates beyond what " << kills_ << " SIGKILLs, " << restarts_
                                 << " broker restarts and " << publish_retries() << " publish retries explain";
#ifdef QPLUG_CHAOS_WITH_MOSQUITTO
  if (drops) {
    EXPECT_FALSE(drops->any_after_refresh()) << drops->describe();
  }
#endif
}

INSTANTIATE_TEST_SUITE_P(Drivers, Chaos,
                         ::testing::Values(Case{qplug::testing::kRedis, "redis"},
                                           Case{qplug::testing::kRabbitmq, "amqp"},
                                           Case{qplug::testing::kMosquitto, "mqtt"}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace qplug::chaos
