// handler_registry.cpp -- the registered handler resolver and process runner.
#include "handler_registry.hpp"

#include <utility>

namespace qplug::cli {
namespace {

Result<HandlerFactory> no_binding_resolver(Runtime&, const ConsumerEntry& e) {
  return invalid_error("consumer '" + e.id + "' (" + e.where.to_string() + "): Lua handlers need the Lua binding");
}

Status no_binding_runner(Runtime&, const ProcessEntry& e, const std::atomic<bool>&) {
  return invalid_error("process '" + e.id + "' (" + e.where.to_string() + "): Lua processes need the Lua binding");
}

Status no_binding_checker(Runtime&, const ProcessEntry& e) {
  return invalid_error("process '" + e.id + "' (" + e.where.to_string() + "): Lua processes need the Lua binding");
}

// Function-local statics: safe to use from other files' static initialisers.
HandlerResolver& resolver_slot() {
  static HandlerResolver r = no_binding_resolver;
  return r;
}

ProcessRunner& runner_slot() {
  static ProcessRunner r = no_binding_runner;
  return r;
}

ProcessChecker& checker_slot() {
  static ProcessChecker c = no_binding_checker;
  return c;
}

}  // namespace

void set_handler_resolver(HandlerResolver resolver) { resolver_slot() = std::move(resolver); }
void set_process_runner(ProcessRunner runner) { runner_slot() = std::move(runner); }
const HandlerResolver& handler_resolver() { return resolver_slot(); }
const ProcessRunner& process_runner() { return runner_slot(); }
void set_process_checker(ProcessChecker checker) { checker_slot() = std::move(checker); }
const ProcessChecker& process_checker() { return checker_slot(); }

}  // namespace qplug::cli
