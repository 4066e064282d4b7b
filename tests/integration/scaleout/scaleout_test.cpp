// tests/integration/scaleout/scaleout_test.cpp -- three `qplug run`
// processes of one config on one queue process 2000 messages with 0
// duplicates and 0 lost, on every broker driver (memory is in-process only).
//
// Each worker's handler (forward.lua) publishes the job's number to a results
// queue; the test consumes that queue and counts every number it sees.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <csignal>
#include <map>
#include <mutex>
#include <qplug/config.hpp>
#include <qplug/runtime.hpp>
#include <string>
#include <thread>
#include <vector>

#include "broker_env.hpp"
#include "child_process.hpp"
#include "driver_yaml.hpp"
#include "retry_scenarios.hpp"

namespace qplug::testing {
void PrintTo(const Broker& b, std::ostream* os) { *os << b.name; }
}  // namespace qplug::testing

namespace qplug {
namespace {

using namespace std::chrono_literals;
using qplug::testing::Broker;
using qplug::testing::driver_yaml;
using qplug::testing::eventually;

constexpr int kProcesses = 3;
constexpr int kMessages = 2000;

std::string config_yaml(const Broker& broker, const std::string& url, const std::string& unique) {
  return "version: 1\nnamespace: it\nentries:\n" + driver_yaml(broker, url, unique) +
         "  - {kind: queue.queue, name: jobs, driver: broker, queue_name: " + unique +
         "-jobs}\n"
         "  - {kind: queue.queue, name: results, driver: broker, queue_name: " +
         unique +
         "-results}\n"
         "  - kind: queue.consumer\n"
         "    id: worker\n"
         "    queue: it:jobs\n"
         "    source: " QPLUG_SCALEOUT_HANDLER
         "\n"
         "    method: forward\n"
         "    concurrency: 2\n"
         "    prefetch: 20\n";
}

pid_t spawn_worker(const std::string& config, const std::string& log) {
  return qplug::testing::spawn_child({QPLUG_BIN, "run", config}, log);
}

class Scaleout : public ::testing::TestWithParam<Broker> {};

TEST_P(Scaleout, ThreeProcessesOfOneConfigProcessEachMessageOnce) {
  const Broker& broker = GetParam();
  const std::string url = qplug::testing::broker_url(broker);
  if (std::string why = qplug::testing::broker_unreachable(broker, url); !why.empty()) {
    if (qplug::testing::brokers_required()) FAIL() << why;
    GTEST_SKIP() << why;
  }
  const std::string unique = qplug::testing::unique_name("scale");
  const std::string dir = ::testing::TempDir() + unique;
  ASSERT_EQ(std::system(("mkdir -p " + dir).c_str()), 0);
  const std::string config = dir + "/scaleout.yaml";
  {
    FILE* f = std::fopen(config.c_str(), "w");
    ASSERT_NE(f, nullptr);
    const std::string yaml = config_yaml(broker, url, unique);
    std::fwrite(yaml.data(), 1, yaml.size(), f);
    std::fclose(f);
  }
  auto rt = Runtime::load(config);
  ASSERT_TRUE(rt.ok()) << rt.status().to_string();

  std::mutex mu;
  std::map<int64_t, int> seen;  // job number -> times processed
  int total = 0;
  ConsumerOptions opts;
  opts.prefetch = 100;
  auto results = (*rt)->subscribe("it:results", opts, [&](Delivery& d) {
    auto v = d.payload();
    if (!v.ok()) return v.status();
    int64_t n = -1;
    for (const auto& [key, value] : v->as_map()) {
      if (key == "n") n = value.as_int();
    }
    std::lock_guard lock(mu);
    ++seen[n];
    ++total;
    return ok_status();
  });
  ASSERT_TRUE(results.ok()) << results.status().to_string();

  std::vector<pid_t> workers;
  for (int i = 0; i < kProcesses; ++i) {
    pid_t pid = spawn_worker(config, dir + "/worker" + std::to_string(i) + ".log");
    ASSERT_GT(pid, 0);
    workers.push_back(pid);
  }
  for (int start = 0; start < kMessages; start += 100) {
    std::vector<Message> batch;
    for (int n = start; n < start + 100; ++n) {
      Message m;
      m.body = "{\"n\":" + std::to_string(n) + "}";
      batch.push_back(std::move(m));
    }
    Status s = (*rt)->publish_batch("it:jobs", std::move(batch));
    ASSERT_TRUE(s.ok()) << s.to_string();
  }
  const bool all = eventually(
      [&] {
        std::lock_guard lock(mu);
        return seen.size() >= static_cast<size_t>(kMessages);
      },
      240s);
  // Every job is done once the jobs queue is empty; then let the results settle.
  eventually(
      [&] {
        auto info = (*rt)->info("it:jobs");
        return info.ok() && info->messages <= 0 && info->in_flight <= 0;  // -1: the driver cannot count
      },
      60s);
  for (pid_t pid : workers) kill(pid, SIGTERM);
  for (pid_t pid : workers) {
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "worker " << pid << " status " << status;
  }
  eventually(
      [&] {
        auto info = (*rt)->info("it:results");
        return info.ok() && info->messages <= 0 && info->in_flight <= 0;  // -1: the driver cannot count
      },
      60s);
  ASSERT_TRUE((*results)->stop().ok());
  (*rt)->stop();

  std::lock_guard lock(mu);
  int duplicates = 0;
  for (const auto& [n, times] : seen) duplicates += times - 1;
  EXPECT_TRUE(all) << "processed " << seen.size() << " of " << kMessages << " (worker logs in " << dir << ")";
  EXPECT_EQ(seen.size(), static_cast<size_t>(kMessages)) << "lost messages";
  EXPECT_EQ(duplicates, 0) << total << " results for " << seen.size() << " messages (worker logs in " << dir << ")";
  if (broker.name == "redis") {
    qplug::testing::run_command("redis-cli -u " + url + " DEL " + unique + "-" + unique + "-jobs " + unique + "-" +
                                unique + "-results >/dev/null");
  }
}

// A handler that always raises, run by `qplug run --exit-when-idle`: the
// message ends in the core-declared app:tasks.dead, every failure is logged,
// and qplug exits only after that (issue 9 finding 7).
TEST_P(Scaleout, PoisonMessageEndsInTheDeadQueueAndExitWhenIdleWaitsForIt) {
  const Broker& broker = GetParam();
  const std::string url = qplug::testing::broker_url(broker);
  if (std::string why = qplug::testing::broker_unreachable(broker, url); !why.empty()) {
    if (qplug::testing::brokers_required()) FAIL() << why;
    GTEST_SKIP() << why;
  }
  const std::string unique = qplug::testing::unique_name("poison");
  const std::string dir = ::testing::TempDir() + unique;
  ASSERT_EQ(std::system(("mkdir -p " + dir).c_str()), 0);
  const std::string config = dir + "/poison.yaml";
  const std::string yaml = "version: 1\nnamespace: app\nentries:\n" + driver_yaml(broker, url, unique) +
                           "  - kind: queue.queue\n"
                           "    name: tasks\n"
                           "    driver: broker\n"
                           "    queue_name: " +
                           unique +
                           "-tasks\n"
                           "    retry: {max_attempts: 3, initial_backoff: 20ms, max_backoff: 50ms}\n"
                           "  - {kind: queue.consumer, id: worker, queue: app:tasks, source: " QPLUG_POISON_LUA
                           ", method: always_fails}\n"
                           "  - {kind: process.lua, name: publisher, source: " QPLUG_POISON_LUA
                           ", method: publish_one, lifecycle: {auto_start: true}}\n";
  {
    FILE* f = std::fopen(config.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fwrite(yaml.data(), 1, yaml.size(), f);
    std::fclose(f);
  }
  const std::string log = dir + "/run.log";
  const pid_t pid = qplug::testing::spawn_child({QPLUG_BIN, "run", config, "--exit-when-idle"}, log);
  ASSERT_GT(pid, 0);
  int status = 0;
  waitpid(pid, &status, 0);  // bounded by the ctest TIMEOUT: a run that never idles fails there
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  const std::string out = qplug::testing::run_command("cat " + log);
  EXPECT_NE(out.find("attempt 1/3: "), std::string::npos) << out;
  EXPECT_NE(out.find("cannot handle job 7"), std::string::npos) << out;
  EXPECT_NE(out.find("attempt 3/3: "), std::string::npos) << out;
  EXPECT_NE(out.find("moved to 'app:tasks.dead'"), std::string::npos) << out;
  EXPECT_NE(out.find("dead-lettered 1"), std::string::npos) << out;

  auto rt = Runtime::load(config);
  ASSERT_TRUE(rt.ok()) << rt.status().to_string();
  EXPECT_TRUE(eventually(
      [&] {
        auto info = (*rt)->info("app:tasks.dead");
        return info.ok() && info->messages == 1;
      },
      30s))
      << "the poison message is in app:tasks.dead";
  auto info = (*rt)->info("app:tasks");
  ASSERT_TRUE(info.ok());
  EXPECT_LE(info->messages, 0) << "and no longer in app:tasks";
  (*rt)->stop();
  if (broker.name == "redis") {
    qplug::testing::run_command("redis-cli -u " + url + " DEL " + unique + "-" + unique + "-tasks " + unique + "-" +
                                unique + "-tasks.dead >/dev/null");
  }
}

// A backoff of minutes with prefetch 1 does not stall the next messages
// (skipped where the driver has no native delay; see retry_scenarios.hpp).
TEST_P(Scaleout, LongBackoffDoesNotStallTheNextMessages) {
  const Broker& broker = GetParam();
  const std::string url = qplug::testing::broker_url(broker);
  if (std::string why = qplug::testing::broker_unreachable(broker, url); !why.empty()) {
    if (qplug::testing::brokers_required()) FAIL() << why;
    GTEST_SKIP() << why;
  }
  const std::string unique = qplug::testing::unique_name("backoff");
  auto cfg = parse_config("version: 1\nnamespace: it\nentries:\n" + driver_yaml(broker, url, unique) +
                              qplug::test_util::long_backoff_queue_yaml(unique),
                          "backoff.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status().to_string();
  auto rt = Runtime::create(std::move(*cfg));
  ASSERT_TRUE(rt.ok()) << rt.status().to_string();
  qplug::test_util::expect_long_backoff_does_not_stall(**rt, "it:tasks");
  (*rt)->stop();
  if (broker.name == "redis") {
    qplug::testing::run_command("redis-cli -u " + url + " --scan --pattern '" + unique +
                                "-*' | xargs -r redis-cli -u " + url + " DEL >/dev/null");
  }
}

INSTANTIATE_TEST_SUITE_P(Brokers, Scaleout, ::testing::Values(qplug::testing::kRedis, qplug::testing::kRabbitmq),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace qplug
