// check_capabilities.cpp -- what each queue's driver does natively vs what
// the core does for it (docs/configuration.md, "What the core does per driver").
#include "check_capabilities.hpp"

#include <qplug/driver.h>

#include <string>

#include "table.hpp"

namespace qplug::cli {
namespace {

bool has(const RouteInfo& r, uint64_t cap) { return (r.capabilities & cap) != 0; }

std::string backoff_column(const RouteInfo& r) {
  if (r.initial_backoff_ms <= 0) return "none (immediate)";
  return has(r, QPLUG_CAP_DELAY) ? "delayed republish" : "held in memory";
}

std::string dead_letter_column(const RouteInfo& r) {
  if (r.auto_declared) return "- (core-declared)";
  if (r.dead_letter.empty()) return "none (unlimited attempts)";
  return r.dead_letter + (r.dead_letter_configured ? "" : " (core-declared)");
}

}  // namespace

void print_capabilities(std::ostream& out, const std::vector<RouteInfo>& routes) {
  if (routes.empty()) return;
  std::vector<Row> rows = {{"QUEUE", "DRIVER", "DELAY", "TTL", "PRIORITY", "ATTEMPTS", "RETRY BACKOFF", "DEAD LETTER"}};
  std::vector<std::string> notes;
  for (const RouteInfo& r : routes) {
    rows.push_back(
        {r.queue_id, r.driver_name, has(r, QPLUG_CAP_DELAY) ? "native" : "refused",
         has(r, QPLUG_CAP_TTL) ? "native" : "core-checked", has(r, QPLUG_CAP_PRIORITY) ? "native" : "ignored",
         r.max_attempts > 0 ? std::to_string(r.max_attempts) : "unlimited", backoff_column(r), dead_letter_column(r)});
    if (!has(r, QPLUG_CAP_PRIORITY)) {
      notes.push_back("queue '" + r.queue_id + "' ignores priority on driver " + r.driver_name);
    }
    if (!has(r, QPLUG_CAP_DELAY)) {
      notes.push_back("queue '" + r.queue_id + "': a publish with a 'delay' header is refused (INVALID) on driver " +
                      r.driver_name);
      if (r.initial_backoff_ms > 0) {
        notes.push_back("queue '" + r.queue_id + "': retry backoff holds the failed delivery unsettled, taking a " +
                        "prefetch slot for the whole backoff, on driver " + r.driver_name);
      }
    }
    // r.capabilities are the open instance's (its settings may switch one
    // off, e.g. mqtt's spool), so this is what the configuration really does.
    if (!has(r, QPLUG_CAP_ACK_AFTER_PROCESSING)) {
      notes.push_back("queue '" + r.queue_id + "': no ack-after-processing on driver " + r.driver_name +
                      " as configured: a consumer crash loses the deliveries its handlers held");
    }
    if (!r.dead_letter.empty() && !r.dead_letter_configured) {
      notes.push_back("queue '" + r.queue_id + "': exhausted messages go to '" + r.dead_letter +
                      "', declared by the core beside it (no dead_letter.queue configured)");
    }
  }
  out << "\nCapabilities (native = the driver does it; core-checked = the core does it on delivery):\n";
  print_table(out, rows);
  for (const std::string& n : notes) out << "  " << n << "\n";
}

}  // namespace qplug::cli
