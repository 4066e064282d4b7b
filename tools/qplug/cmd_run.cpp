// cmd_run.cpp -- `qplug run CONFIG [--exit-when-idle]`: starts every
// auto_start consumer (handlers from the registered HandlerResolver) and
// process (ProcessRunner), runs until SIGINT/SIGTERM, then drains gracefully.
#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <memory>
#include <optional>
#include <qplug/runtime.hpp>
#include <qplug/sdk/parse.hpp>
#include <thread>

#include "broker_wait.hpp"
#include "cli_util.hpp"
#include "commands.hpp"
#include "consumer_host.hpp"
#include "handler_registry.hpp"

namespace qplug::cli {
namespace {

constexpr const char* kCmd = "run";
constexpr auto kPollInterval = std::chrono::milliseconds(50);

// The signal handler only sets this flag; the main loop polls it.
volatile std::sig_atomic_t g_stop_signal = 0;

extern "C" void run_on_signal(int sig) { g_stop_signal = sig; }

void print_help() {
  std::cout << "usage: qplug run CONFIG [--exit-when-idle [--idle-quiet DURATION]] [--wait DURATION|forever]\n\n"
               "Loads CONFIG, starts every queue.consumer and process.lua entry with\n"
               "lifecycle.auto_start (consumers in depends_on order), and runs until SIGINT or\n"
               "SIGTERM. Then it drains gracefully: running process scripts are interrupted\n"
               "(CANCELED, not a failure), intake stops, in-flight handlers finish, prefetched\n"
               "messages go back to the broker, drivers close.\n\n"
               "  --exit-when-idle  exit once every process has returned, every consumed queue\n"
               "                    reports 0 ready and 0 in-flight messages, no handler\n"
               "                    is running and no retry this process scheduled is still\n"
               "                    outstanding. A queue whose driver cannot count its ready\n"
               "                    messages (mqtt) must also have had no delivery for the\n"
               "                    --idle-quiet window (default 3s).\n\n"
               "At exit it prints per consumer: processed, failed, retried, dead-lettered, expired.\n\n"
               "Handlers come from the language binding (Lua); without it, a config with\n"
               "consumers or processes is rejected with exit code 2.\n\n"
            << kExitCodesHelp;
}

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = run_on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

struct ProcessThread {
  const ProcessEntry* entry;
  std::thread thread;
  std::atomic<bool> done{false};
  Status result;
};

bool idle(Runtime& rt, const Subscriptions& subs, const std::vector<std::unique_ptr<ProcessThread>>& procs,
          IdleWatch& watch) {
  bool done = true;
  for (const auto& p : procs) {
    if (!p->done.load()) done = false;
  }
  const bool consumers = watch.idle(rt, subs);  // every poll: it notes the deliveries
  return done && consumers;
}

// One line per subscription, so a run that hid failures is visible at exit.
void print_totals(const Subscriptions& subs) {
  for (const auto& s : subs) {
    const SubscriptionCounters c = s->counters();
    std::cerr << "qplug run: " << s->queue_id() << ": processed " << c.processed << ", failed " << c.failed
              << ", retried " << c.retried << ", dead-lettered " << c.dead_lettered << ", expired " << c.expired
              << "\n";
  }
}

// A loaded runtime with its consumers started.
struct Started {
  std::unique_ptr<Runtime> runtime;
  Subscriptions subs;
};

Result<Started> start(const std::string& path) {
  auto loaded = Runtime::load(path);
  if (!loaded.ok()) return loaded.status();
  Started s{std::move(*loaded), {}};
  auto subs = start_consumers(*s.runtime);
  if (!subs.ok()) {
    s.runtime->stop();
    return subs.status();
  }
  s.subs = std::move(*subs);
  return s;
}

}  // namespace

int cmd_run(int argc, char** argv) {
  if (wants_help(argc, argv)) {
    print_help();
    return kExitOk;
  }
  std::string path;
  bool exit_when_idle = false;
  int64_t wait_ms = kWaitForever;
  std::chrono::milliseconds idle_quiet = kDefaultIdleQuiet;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--exit-when-idle") {
      exit_when_idle = true;
    } else if (a == "--idle-quiet" || a == "--wait") {
      const bool wait = a == "--wait";
      int64_t ms = 0;
      if (Status d = read_duration_option(argc, argv, &i, wait, &ms); !d.ok())
        return fail(kCmd, d.message(), kExitUsage);
      if (wait) {
        wait_ms = ms;
      } else {
        idle_quiet = std::chrono::milliseconds(ms);
      }
    } else if (a.starts_with("-")) {
      return fail(kCmd, "unknown option '" + std::string(a) + "' (see qplug run --help)", kExitUsage);
    } else if (path.empty()) {
      path = a;
    } else {
      return fail(kCmd, "unexpected argument '" + std::string(a) + "' (see qplug run --help)", kExitUsage);
    }
  }
  if (path.empty()) return fail(kCmd, "missing CONFIG (see qplug run --help)", kExitUsage);

  install_signal_handlers();
  Started started;
  std::optional<Status> st = retry_while_unreachable(
      kCmd,
      [&] {
        Result<Started> s = start(path);
        if (!s.ok()) return s.status();
        started = std::move(s).value();
        return ok_status();
      },
      wait_ms, &g_stop_signal);
  if (!st) {
    std::cerr << "qplug run: signal " << g_stop_signal << " while waiting for the broker; nothing was started\n";
    return kExitOk;
  }
  if (!st->ok()) return fail(kCmd, *st);
  Runtime& rt = *started.runtime;
  Subscriptions subs = std::move(started.subs);
  // Set on shutdown: the ProcessRunner interrupts its script (CANCELED).
  std::atomic<bool> stop_processes{false};
  std::vector<std::unique_ptr<ProcessThread>> procs;
  for (const ProcessEntry& p : rt.config().processes) {
    if (!p.auto_start) continue;
    auto pt = std::make_unique<ProcessThread>();
    pt->entry = &p;
    ProcessThread* raw = pt.get();
    pt->thread = std::thread([raw, &rt, &stop_processes] {
      raw->result = process_runner()(rt, *raw->entry, stop_processes);
      raw->done.store(true);
    });
    procs.push_back(std::move(pt));
  }
  std::cerr << "qplug run: " << subs.size() << " consumer(s), " << procs.size() << " process(es) started\n";

  auto process_failed = [&procs] {
    for (const auto& p : procs) {
      if (p->done.load() && !p->result.ok()) return true;
    }
    return false;
  };
  IdleWatch watch(idle_quiet, kCountSettle);
  while (g_stop_signal == 0) {
    if (process_failed()) break;  // reported below, after the drain
    if (exit_when_idle && idle(rt, subs, procs, watch)) break;
    std::this_thread::sleep_for(kPollInterval);
  }
  if (g_stop_signal != 0) std::cerr << "qplug run: signal " << g_stop_signal << ", draining\n";

  stop_processes.store(true);
  int code = kExitOk;
  for (auto& s : subs) {
    Status st = s->stop();
    if (!st.ok()) code = fail(kCmd, st.to_string(), kExitRuntime);
  }
  print_totals(subs);
  for (auto& p : procs) {
    p->thread.join();  // the runner returns soon after stop_processes (it owns the cancellation)
    if (!p->result.ok()) code = fail(kCmd, p->result.to_string(), status_exit_code(p->result));
  }
  rt.stop();
  return code;
}

}  // namespace qplug::cli
