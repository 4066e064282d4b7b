// check_sandbox.cpp -- `qplug check` shows what the Lua sandbox grants each
// handler and process entry, so a grant (or `security.sandbox: false`) is
// visible where the config is reviewed, not only in the YAML.
#include "check_sandbox.hpp"

#include <vector>

#include "table.hpp"

namespace qplug::cli {

std::string sandbox_summary(const Config& config, const HandlerSpec& handler) {
  if (!config.lua_sandbox) return "off (trusted host)";
  if (handler.modules.empty()) return "default";
  std::string out;
  for (const std::string& m : handler.modules) out += (out.empty() ? "+" : " +") + m;
  return out;
}

void print_sandbox(std::ostream& out, const Config& config) {
  std::vector<Row> rows = {{"LUA ENTRY", "KIND", "SOURCE", "SANDBOX"}};
  for (const ConsumerEntry& c : config.consumers) {
    if (c.handler.source.empty()) continue;  // not a Lua handler
    rows.push_back({c.id, "queue.consumer", c.handler.source, "sandbox: " + sandbox_summary(config, c.handler)});
  }
  for (const ProcessEntry& p : config.processes) {
    rows.push_back({p.id, "process.lua", p.handler.source, "sandbox: " + sandbox_summary(config, p.handler)});
  }
  if (rows.size() == 1) return;
  out << "\n";
  print_table(out, rows);
}

}  // namespace qplug::cli
