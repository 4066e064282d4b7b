// main.cpp -- the qplug command line: dispatches to one subcommand per file.
#include <iostream>
#include <string_view>

#include "cli_util.hpp"
#include "commands.hpp"

namespace {

struct Command {
  std::string_view name;
  std::string_view summary;
  int (*run)(int argc, char** argv);
};

// One line per subcommand.
constexpr Command kCommands[] = {
    {"check", "validate a config, load its plugins, print the routing table (--explain for permissions)",
     qplug::cli::cmd_check},
    {"drivers", "list the driver plugins found in the search path and their capabilities", qplug::cli::cmd_drivers},
    {"publish", "publish one JSON message to a queue", qplug::cli::cmd_publish},
    {"run", "start every auto_start consumer and process of a config until SIGINT/SIGTERM", qplug::cli::cmd_run},
#ifdef QPLUG_HAVE_LUA
    {"lua", "run a Lua script with require(\"queue\") bound to a config, its consumers running", qplug::cli::cmd_lua},
#endif
};

int usage(std::ostream& out, int code) {
  out << "usage: qplug COMMAND [ARGS...]   (qplug COMMAND --help for details)\n\nCommands:\n";
  for (const Command& c : kCommands) out << "  " << c.name << std::string(10 - c.name.size(), ' ') << c.summary << "\n";
  out << "\n" << qplug::cli::kExitCodesHelp;
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage(std::cerr, qplug::cli::kExitUsage);
  const std::string_view name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") return usage(std::cout, qplug::cli::kExitOk);
  for (const Command& c : kCommands) {
    if (c.name == name) return c.run(argc - 1, argv + 1);
  }
  std::cerr << "qplug: unknown command '" << name << "'\n";
  return usage(std::cerr, qplug::cli::kExitUsage);
}
