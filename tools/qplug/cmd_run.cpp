// cmd_run.cpp -- `qplug run CONFIG [--exit-when-idle]`: starts every
// auto_start consumer (handlers from the registered HandlerResolver) and
// process (ProcessRunner), runs until SIGINT/SIGTERM, then drains gracefully.
#include "cli_util.hpp"
#include "commands.hpp"
#include "handler_registry.hpp"

#include <qplug/runtime.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <memory>
#include <set>
#include <thread>

namespace qplug::cli {
namespace {

constexpr const char* kCmd = "run";
constexpr auto kPollInterval = std::chrono::milliseconds(50);

// The signal handler only sets this flag; the main loop polls it.
volatile std::sig_atomic_t g_stop_signal = 0;

extern "C" void run_on_signal(int sig) { g_stop_signal = sig; }

void print_help() {
  std::cout << "usage: qplug run CONFIG [--exit-when-idle]\n\n"
               "Loads CONFIG, starts every queue.consumer and process.lua entry with\n"
               "lifecycle.auto_start (consumers in depends_on order), and runs until SIGINT or\n"
               "SIGTERM. Then it drains gracefully: intake stops, in-flight handlers finish,\n"
               "prefetched messages go back to the broker, drivers close.\n\n"
               "  --exit-when-idle  exit once every process has returned, every consumed queue\n"
               "                    reports 0 ready and 0 in-flight messages and no handler\n"
               "                    is running (queues whose driver has no counts count as idle).\n\n"
               "Handlers come from the language binding (Lua); without it, a config with\n"
               "consumers or processes is rejected with exit code 2.\n\n"
            << kExitCodesHelp;
}

void install_signal_handlers() {
  struct sigaction sa{};
  sa.sa_handler = run_on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

// Consumers whose depends_on entries are started come first; a cycle or a
// reference to a consumer that will not start is a config error.
Result<std::vector<const ConsumerEntry*>> start_order(const Config& config) {
  std::vector<const ConsumerEntry*> pending, ordered;
  std::set<std::string> auto_ids, placed;
  for (const ConsumerEntry& c : config.consumers) {
    if (c.auto_start) {
      pending.push_back(&c);
      auto_ids.insert(c.id);
    }
  }
  while (!pending.empty()) {
    bool progress = false;
    for (auto it = pending.begin(); it != pending.end();) {
      bool ready = true;
      for (const std::string& dep : (*it)->depends_on) {
        if (auto_ids.count(dep) != 0 && placed.count(dep) == 0) ready = false;
      }
      if (ready) {
        placed.insert((*it)->id);
        ordered.push_back(*it);
        it = pending.erase(it);
        progress = true;
      } else {
        ++it;
      }
    }
    if (!progress) {
      const ConsumerEntry& c = *pending.front();
      return invalid_error("consumer '" + c.id + "' (" + c.where.to_string() + "): depends_on forms a cycle");
    }
  }
  return ordered;
}

ConsumerOptions options_for(const ConsumerEntry& c) {
  ConsumerOptions o;
  o.concurrency = c.concurrency;
  o.prefetch = c.prefetch;
  o.auto_ack = c.auto_ack;
  o.group = c.group;
  o.name = c.id;
  o.driver_options = c.driver_options;
  return o;
}

struct ProcessThread {
  const ProcessEntry* entry;
  std::thread thread;
  std::atomic<bool> done{false};
  Status result;
};

bool idle(Runtime& rt, const std::vector<std::unique_ptr<Subscription>>& subs,
          const std::vector<std::unique_ptr<ProcessThread>>& procs) {
  for (const auto& p : procs) {
    if (!p->done.load()) return false;
  }
  for (const auto& s : subs) {
    if (s->running() > 0) return false;
    auto info = rt.info(s->queue_id());
    if (!info.ok()) return false;
    if (info->messages > 0 || info->in_flight > 0) return false;
  }
  return true;
}

}  // namespace

int cmd_run(int argc, char** argv) {
  if (wants_help(argc, argv)) {
    print_help();
    return kExitOk;
  }
  std::string path;
  bool exit_when_idle = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--exit-when-idle") {
      exit_when_idle = true;
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
  auto loaded = Runtime::load(path);
  if (!loaded.ok()) return fail(kCmd, loaded.status());
  Runtime& rt = **loaded;
  auto order = start_order(rt.config());
  if (!order.ok()) return fail(kCmd, order.status());

  std::vector<std::unique_ptr<Subscription>> subs;
  for (const ConsumerEntry* c : *order) {
    auto factory = handler_resolver()(rt, *c);
    if (!factory.ok()) return fail(kCmd, factory.status());
    auto sub = rt.subscribe(c->queue, options_for(*c), std::move(*factory));
    if (!sub.ok()) {
      return fail(kCmd, Status(sub.status().kind(), "consumer '" + c->id + "' (" + c->where.to_string() +
                                                        "): " + sub.status().message()));
    }
    subs.push_back(std::move(*sub));
  }
  std::vector<std::unique_ptr<ProcessThread>> procs;
  for (const ProcessEntry& p : rt.config().processes) {
    if (!p.auto_start) continue;
    auto pt = std::make_unique<ProcessThread>();
    pt->entry = &p;
    ProcessThread* raw = pt.get();
    pt->thread = std::thread([raw, &rt] {
      raw->result = process_runner()(rt, *raw->entry);
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
  while (g_stop_signal == 0) {
    if (process_failed()) break;  // reported below, after the drain
    if (exit_when_idle && idle(rt, subs, procs)) break;
    std::this_thread::sleep_for(kPollInterval);
  }
  if (g_stop_signal != 0) std::cerr << "qplug run: signal " << g_stop_signal << ", draining\n";

  int code = kExitOk;
  for (auto& s : subs) {
    Status st = s->stop();
    if (!st.ok()) code = fail(kCmd, st.to_string(), kExitRuntime);
  }
  for (auto& p : procs) {
    p->thread.join();  // a process script is expected to return; the runner owns its cancellation
    if (!p->result.ok()) code = fail(kCmd, p->result.to_string(), status_exit_code(p->result));
  }
  rt.stop();
  return code;
}

}  // namespace qplug::cli
