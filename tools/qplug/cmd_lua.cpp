// cmd_lua.cpp -- `qplug lua CONFIG SCRIPT.lua [ARGS...]`: runs one script with
// require("queue") bound to CONFIG's runtime while the config's auto_start
// consumers run, then drains (waits until the consumed queues are idle) and
// exits with the script's status.
#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <qplug/lua.hpp>
#include <qplug/runtime.hpp>
#include <string>
#include <thread>
#include <vector>

#include "cli_util.hpp"
#include "commands.hpp"
#include "consumer_host.hpp"

namespace qplug::cli {
namespace {

constexpr const char* kCmd = "lua";
constexpr auto kPollInterval = std::chrono::milliseconds(10);

std::atomic<bool> g_lua_stop{false};
extern "C" void lua_cmd_on_signal(int) { g_lua_stop.store(true); }

void print_help() {
  std::cout << "usage: qplug lua [--as ENTRY] [--drain-timeout SECONDS] CONFIG SCRIPT.lua [ARGS...]\n\n"
               "Runs SCRIPT.lua with require(\"queue\") and require(\"errors\") bound to CONFIG,\n"
               "`arg` set as lua5.4 does (arg[0] = SCRIPT.lua, arg[1..] = ARGS) and every\n"
               "auto_start queue.consumer of CONFIG running (started in depends_on order, as\n"
               "`qplug run` does). When the script returns, waits until\n"
               "the consumed queues hold no ready or in-flight message (at most --drain-timeout,\n"
               "default 60), stops the consumers and exits with the script's status: the integer\n"
               "it returns or passes to os.exit, 1 if it raised or returned false / nil, err,\n"
               "2 if SCRIPT.lua cannot be read or does not compile.\n\n"
               "  --as ENTRY   run as this process.lua or queue.consumer entry would: publish\n"
               "               as its actor (security:) and in its Lua sandbox (modules:);\n"
               "               default: the host (full Lua; always allowed unless\n"
               "               security.strict).\n\n"
               "Handler budgets: a consumer's limits:, else QPLUG_LUA_MAX_INSTRUCTIONS, QPLUG_LUA_TIMEOUT_MS.\n"
            << kExitCodesHelp;
}

// The process.lua or queue.consumer entry `id`: its security and its handler
// (whose `modules:` the sandbox grants).
struct ActingEntry {
  const SecuritySpec* security = nullptr;
  const HandlerSpec* handler = nullptr;
};
ActingEntry find_entry(const Config& config, const std::string& id) {
  for (const ProcessEntry& p : config.processes) {
    if (p.id == id) return {&p.security, &p.handler};
  }
  for (const ConsumerEntry& c : config.consumers) {
    if (c.id == id) return {&c.security, &c.handler};
  }
  return {};
}

struct Args {
  std::string as;
  int drain_seconds = 60;
  std::string config;
  lua::ScriptOptions script;
};

// Options come before CONFIG; everything after SCRIPT belongs to the script.
Result<Args> parse_args(int argc, char** argv) {
  Args a;
  int i = 1;
  for (; i < argc; ++i) {
    const std::string_view s = argv[i];
    if ((s == "--as" || s == "--drain-timeout") && i + 1 < argc) {
      if (s == "--as")
        a.as = argv[++i];
      else
        a.drain_seconds = std::atoi(argv[++i]);
    } else if (s.starts_with("-")) {
      return invalid_error("unknown option '" + std::string(s) + "' (see qplug lua --help)");
    } else {
      break;
    }
  }
  if (argc - i < 2) return invalid_error("missing CONFIG or SCRIPT.lua (see qplug lua --help)");
  a.config = argv[i++];
  a.script.source = argv[i++];
  for (; i < argc; ++i) a.script.args.emplace_back(argv[i]);
  return a;
}

}  // namespace

int cmd_lua(int argc, char** argv) {
  if (wants_help(argc, argv)) {
    print_help();
    return kExitOk;
  }
  auto args = parse_args(argc, argv);
  if (!args.ok()) return fail(kCmd, args.status().message(), kExitUsage);
  // A script that cannot be read or does not compile is a usage error (2),
  // found before any consumer starts.
  if (Status compiled = lua::compile_script(args->script.source); !compiled.ok()) {
    return fail(kCmd, compiled.message(), kExitUsage);
  }
  auto loaded = Runtime::load(args->config);
  if (!loaded.ok()) return fail(kCmd, loaded.status());
  Runtime& rt = **loaded;

  // The operator's own script is the host (full Lua, as lua5.4); --as runs it
  // as that entry would run: its actor, policies and sandbox.
  SecurityContext security;
  const SecurityContext* acting = nullptr;
  args->script.sandbox = lua::Sandbox::off();
  if (!args->as.empty()) {
    ActingEntry entry = find_entry(rt.config(), args->as);
    if (entry.security == nullptr) {
      return fail(kCmd, "--as: no process.lua or queue.consumer entry '" + args->as + "'", kExitUsage);
    }
    security = lua::security_context(*entry.security);
    acting = &security;
    args->script.sandbox = lua::Sandbox::for_entry(rt.config(), *entry.handler);
  }

  auto started = start_consumers(rt);
  if (!started.ok()) return fail(kCmd, started.status());
  Subscriptions subs = std::move(*started);

  struct sigaction sa {};
  sa.sa_handler = lua_cmd_on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  args->script.stop = &g_lua_stop;
  int exit_code = 1;
  Status st = lua::run_script(rt, acting, args->script, &exit_code);
  if (!st.ok()) std::cerr << "qplug lua: " << args->script.source << ": " << st.to_string() << "\n";

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(args->drain_seconds);
  IdleWatch watch(std::chrono::milliseconds(0), kCountSettle);  // no --idle-quiet here
  while (!g_lua_stop.load() && !watch.idle(rt, subs)) {
    if (std::chrono::steady_clock::now() > deadline) {
      std::cerr << "qplug lua: drain timeout (" << args->drain_seconds << "s): messages left in consumed queues\n";
      if (exit_code == 0) exit_code = kExitRuntime;
      break;
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  for (auto& s : subs) {
    Status stop = s->stop();
    if (!stop.ok()) std::cerr << "qplug lua: " << stop.to_string() << "\n";
  }
  rt.stop();
  return exit_code;
}

}  // namespace qplug::cli
