// cmd_check.cpp -- `qplug check CONFIG [--explain ACTOR ACTION RESOURCE]`:
// validates a config, loads and opens its driver plugins, declares its
// queues, prints the routing table, and optionally explains one permission
// decision.
#include <iostream>
#include <qplug/runtime.hpp>
#include <qplug/security.hpp>

#include "check_capabilities.hpp"
#include "check_sandbox.hpp"
#include "cli_util.hpp"
#include "commands.hpp"
#include "handler_registry.hpp"
#include "table.hpp"

namespace qplug::cli {
namespace {

constexpr const char* kCmd = "check";

void print_help() {
  std::cout << "usage: qplug check CONFIG [--explain ACTOR ACTION RESOURCE]\n\n"
               "Validates CONFIG (a YAML file or a directory of them), loads and opens every\n"
               "driver entry's plugin, declares every queue, loads every consumer handler as\n"
               "`qplug run` does (compiles its source, runs its main chunk once in its sandbox,\n"
               "finds its method) and compiles every process.lua script (without running it),\n"
               "reporting each problem with its entry and file:line; then prints the routing table:\n"
               "queue ID -> driver entry -> plugin file.\n\n"
               "  --explain ACTOR ACTION RESOURCE\n"
               "      print the permission decision for ACTOR (the security.actor.id of a\n"
               "      queue.consumer or process.lua entry, whose policies apply) doing ACTION\n"
               "      on RESOURCE ('-' for none), and the policy that decided it.\n"
               "      Example: qplug check app.yaml --explain worker queue.publish.queue app:tasks\n\n"
            << kExitCodesHelp;
}

struct ActorPolicies {
  const Actor* actor = nullptr;
  const std::vector<std::string>* policies = nullptr;
  std::string entry;  // where the actor was found
};

ActorPolicies find_actor(const Config& config, std::string_view actor_id) {
  for (const ConsumerEntry& c : config.consumers) {
    if (c.security.actor && c.security.actor->id == actor_id) return {&*c.security.actor, &c.security.policies, c.id};
  }
  for (const ProcessEntry& p : config.processes) {
    if (p.security.actor && p.security.actor->id == actor_id) return {&*p.security.actor, &p.security.policies, p.id};
  }
  return {};
}

void explain(const Config& config, const std::string& actor_id, const std::string& action, std::string resource) {
  if (resource == "-") resource.clear();
  static const std::vector<std::string> kNone;
  ActorPolicies found = find_actor(config, actor_id);
  Actor stand_in{actor_id, {}};
  const Actor* actor = found.actor != nullptr ? found.actor : &stand_in;
  const std::vector<std::string>& policies = found.policies != nullptr ? *found.policies : kNone;
  const Decision d = PolicyEvaluator(config).evaluate(actor, policies, action, resource);

  std::cout << "\nPermission: actor '" << actor_id << "' action '" << action << "' resource '"
            << (resource.empty() ? "-" : resource) << "'\n";
  if (found.actor != nullptr) {
    std::cout << "  actor of:  " << found.entry << "\n";
  } else {
    std::cout << "  actor of:  (no queue.consumer or process.lua entry has this actor; evaluated with no policies)\n";
  }
  std::string list;
  for (const std::string& p : policies) list += (list.empty() ? "" : ", ") + p;
  std::cout << "  policies:  " << (list.empty() ? "(none)" : list) << "\n";
  std::cout << "  decision:  " << (d.allowed ? "ALLOW" : "DENY") << "\n";
  std::cout << "  decided by: " << (d.policy.empty() ? "(default rule)" : d.policy) << "\n";
  std::cout << "  reason:    " << d.reason << "\n";
}

// Loads every handler as `qplug run` would and every process script, and
// reports each problem (not just the first) naming the entry and its place.
// A consumer's handler is built exactly as one worker of `run` builds it: the
// source compiled, its main chunk run once in the entry's sandbox and budget
// (it returns the module table, or defines globals), the method looked up.
// A process script is only compiled: its main chunk is the program.
int check_handlers(Runtime& rt) {
  int problems = 0;
  auto report = [&](const std::string& what, const std::string& id, const SourceLocation& where, const Status& st) {
    std::cerr << "qplug " << kCmd << ": " << kind_name(st.kind()) << ": " << where.to_string() << ": " << what << " '"
              << id << "': " << st.message() << "\n";
    ++problems;
  };
  for (const ConsumerEntry& c : rt.config().consumers) {
    auto factory = handler_resolver()(rt, c);
    if (!factory.ok()) {
      report("consumer", c.id, c.where, factory.status());
      continue;
    }
    auto handler = (*factory)(0);
    if (!handler.ok()) report("consumer", c.id, c.where, handler.status());
  }
  for (const ProcessEntry& p : rt.config().processes) {
    Status st = process_checker()(rt, p);
    if (!st.ok()) report("process", p.id, p.where, st);
  }
  return problems;
}

}  // namespace

int cmd_check(int argc, char** argv) {
  if (wants_help(argc, argv)) {
    print_help();
    return kExitOk;
  }
  std::string path;
  std::vector<std::string> explain_args;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--explain") {
      if (i + 3 >= argc)
        return fail(kCmd, "--explain needs ACTOR ACTION RESOURCE (see qplug check --help)", kExitUsage);
      explain_args = {argv[i + 1], argv[i + 2], argv[i + 3]};
      i += 3;
    } else if (a.starts_with("-")) {
      return fail(kCmd, "unknown option '" + std::string(a) + "' (see qplug check --help)", kExitUsage);
    } else if (path.empty()) {
      path = a;
    } else {
      return fail(kCmd, "unexpected argument '" + std::string(a) + "' (see qplug check --help)", kExitUsage);
    }
  }
  if (path.empty()) return fail(kCmd, "missing CONFIG (see qplug check --help)", kExitUsage);

  auto rt = Runtime::load(path);
  if (!rt.ok()) return fail(kCmd, rt.status());
  const Config& config = (*rt)->config();
  if (int problems = check_handlers(**rt); problems > 0) {
    (*rt)->stop();
    return fail(kCmd, std::to_string(problems) + " handler or process problem(s) above", kExitUsage);
  }
  std::cout << "config OK: " << path << " (" << config.drivers.size() << " drivers, " << config.queues.size()
            << " queues, " << config.consumers.size() << " consumers, " << config.processes.size() << " processes, "
            << config.policies.size() << " policies" << (config.strict_security ? ", strict security" : "") << ")\n\n";

  std::vector<Row> rows = {{"QUEUE", "BROKER NAME", "CODEC", "DRIVER ENTRY", "DRIVER", "PLUGIN", "DEAD LETTER"}};
  for (const RouteInfo& r : (*rt)->routes()) {
    rows.push_back({r.queue_id, r.queue_name, r.codec, r.driver_id, r.driver_name, r.plugin_file,
                    r.dead_letter.empty() ? "-" : r.dead_letter});
  }
  if (rows.size() == 1) {
    std::cout << "no queues configured\n";
  } else {
    print_table(std::cout, rows);
  }
  print_sandbox(std::cout, config);
  print_capabilities(std::cout, (*rt)->routes());
  if (!explain_args.empty()) explain(config, explain_args[0], explain_args[1], explain_args[2]);
  (*rt)->stop();
  return kExitOk;
}

}  // namespace qplug::cli
