// handler_registry.hpp -- how `qplug run` turns config entries into code.
//
// The CLI itself knows no handler language. A binding (the Lua one) registers
// a HandlerResolver for queue.consumer entries and a ProcessRunner for
// process.lua entries, typically from a static initialiser in its own file:
//
//   static const bool registered = [] {
//     qplug::cli::set_handler_resolver(&resolve_lua_handler);
//     qplug::cli::set_process_runner(&run_lua_process);
//     qplug::cli::set_process_checker(&check_lua_process);
//     return true;
//   }();
//
// Without one, the defaults answer INVALID naming the entry and its file:line.
#pragma once

#include <atomic>
#include <functional>
#include <qplug/config.hpp>
#include <qplug/runtime.hpp>

namespace qplug::cli {

using HandlerResolver =
    std::function<qplug::Result<qplug::HandlerFactory>(qplug::Runtime&, const qplug::ConsumerEntry&)>;
// Runs a process entry to completion on the calling thread. Once `stop` turns
// true (shutdown) it must return soon; being stopped that way is OK, not an error.
using ProcessRunner =
    std::function<qplug::Status(qplug::Runtime&, const qplug::ProcessEntry&, const std::atomic<bool>& stop)>;

// What `qplug check` does with a process entry: load its script without
// running it (a process's main chunk is the program), OK or the problem.
using ProcessChecker = std::function<qplug::Status(qplug::Runtime&, const qplug::ProcessEntry&)>;

void set_handler_resolver(HandlerResolver resolver);
void set_process_runner(ProcessRunner runner);
void set_process_checker(ProcessChecker checker);

// The registered resolver/runner, or the defaults described above.
const HandlerResolver& handler_resolver();
const ProcessRunner& process_runner();
const ProcessChecker& process_checker();

}  // namespace qplug::cli
