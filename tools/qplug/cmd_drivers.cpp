// cmd_drivers.cpp -- `qplug drivers`: the driver plugins found in the search
// path, and what each can do (DESIGN.md section 2, capabilities).
#include <iostream>
#include <qplug/loader.hpp>

#include "cli_util.hpp"
#include "commands.hpp"
#include "table.hpp"

namespace qplug::cli {
namespace {

constexpr const char* kCmd = "drivers";

struct CapabilityName {
  uint64_t bit;
  const char* name;
};

constexpr CapabilityName kCapabilities[] = {
    {QPLUG_CAP_PERSISTENT, "persistent"},
    {QPLUG_CAP_ACK_AFTER_PROCESSING, "ack-after-processing"},
    {QPLUG_CAP_NACK_REQUEUE, "nack-requeue"},
    {QPLUG_CAP_ORDERED, "ordered"},
    {QPLUG_CAP_PRIORITY, "priority"},
    {QPLUG_CAP_DELAY, "delay"},
    {QPLUG_CAP_TTL, "ttl"},
    {QPLUG_CAP_DEAD_LETTER, "native-dead-letter"},
    {QPLUG_CAP_COMPETING_CONSUMERS, "competing-consumers"},
    {QPLUG_CAP_BATCH_PUBLISH, "batch-publish"},
    {QPLUG_CAP_ASYNC_PUBLISH, "async-publish"},
    {QPLUG_CAP_CONSUMER_GROUPS, "consumer-groups"},
    {QPLUG_CAP_DELIVERY_COUNT, "delivery-count"},
    {QPLUG_CAP_QUEUE_INFO, "queue-info"},
    {QPLUG_CAP_HEADER_TYPES, "header-types"},
};

void print_help() {
  std::cout << "usage: qplug drivers [--plugin-dir DIR]...\n\n"
               "Lists the driver plugins (qplug_<name>.so) found in the plugin search path:\n"
               "--plugin-dir directories first, then $QPLUG_PLUGIN_PATH, the build tree and the\n"
               "install prefix. Prints name, version, ABI version and file of each, then a\n"
               "capability table with one yes/no column per driver. Files that fail to load\n"
               "are reported on stderr (the listing still succeeds).\n\n"
            << kExitCodesHelp;
}

}  // namespace

int cmd_drivers(int argc, char** argv) {
  if (wants_help(argc, argv)) {
    print_help();
    return kExitOk;
  }
  std::vector<std::string> extra;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--plugin-dir" && i + 1 < argc) {
      extra.emplace_back(argv[++i]);
    } else {
      return fail(kCmd, "unexpected argument '" + std::string(a) + "' (see qplug drivers --help)", kExitUsage);
    }
  }
  const std::vector<std::string> dirs = loader::search_dirs(extra);
  std::vector<std::string> errors;
  const std::vector<const loader::Plugin*> plugins = loader::discover(dirs, &errors);
  for (const std::string& e : errors) std::cerr << "qplug drivers: skipped: " << e << "\n";
  if (plugins.empty()) {
    std::string searched;
    for (const std::string& d : dirs) searched += (searched.empty() ? "" : ":") + d;
    std::cout << "no driver plugins found (searched " << searched << ")\n";
    return kExitOk;
  }

  std::vector<Row> rows = {{"NAME", "VERSION", "ABI", "FILE", "DESCRIPTION"}};
  for (const loader::Plugin* p : plugins) {
    const qplug_driver_v1* vt = p->vtable;
    rows.push_back({p->name, vt->version, std::to_string(vt->abi_major) + "." + std::to_string(vt->abi_minor), p->path,
                    vt->description != nullptr ? vt->description : ""});
  }
  print_table(std::cout, rows);

  std::cout << "\n";
  Row header = {"CAPABILITY"};
  for (const loader::Plugin* p : plugins) header.push_back(p->name);
  std::vector<Row> caps = {header};
  for (const CapabilityName& c : kCapabilities) {
    Row r = {c.name};
    for (const loader::Plugin* p : plugins) r.push_back((p->vtable->capabilities & c.bit) != 0 ? "yes" : "no");
    caps.push_back(std::move(r));
  }
  print_table(std::cout, caps);
  return kExitOk;
}

}  // namespace qplug::cli
