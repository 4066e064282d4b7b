// cmd_publish.cpp -- `qplug publish CONFIG QUEUE_ID JSON|@FILE|- [-H key=value]...`:
// publishes one message and waits until the broker took responsibility.
#include <fstream>
#include <iostream>
#include <qplug/codec.hpp>
#include <qplug/runtime.hpp>
#include <qplug/sdk/parse.hpp>
#include <sstream>

#include "broker_wait.hpp"
#include "cli_util.hpp"
#include "commands.hpp"

namespace qplug::cli {
namespace {

constexpr const char* kCmd = "publish";

void print_help() {
  std::cout << "usage: qplug publish CONFIG QUEUE_ID JSON|@FILE|- [-H key=value]... [--wait DURATION|forever]\n\n"
               "Publishes one message to QUEUE_ID (namespace:name) of CONFIG. JSON is the\n"
               "payload, parsed as JSON (quote it for the shell: '{\"user_id\": 456}'); @FILE\n"
               "reads it from FILE, - from stdin (no size limit but the queue's). It is encoded\n"
               "with the queue's codec. An integer outside the 64-bit range is refused.\n"
               "Each -H adds a header. -H key=value is a string, always (-H zip=01234);\n"
               "-H key:int=3, -H key:float=0.5, -H key:bool=true type it (key:string= too).\n"
               "Returns once the broker took responsibility. A broker that is down at start is\n"
               "waited for up to --wait DURATION|forever (default: the driver entry's\n"
               "publish_timeout when the config sets it, else 5s), then exit 1 (retryable);\n"
               "the publish itself then waits up to the driver's publish_timeout.\n\n"
            << kExitCodesHelp;
}

// How long publish waits for an unreachable broker at start without --wait:
// the publish_timeout the queue's driver entry sets, the bound the publish
// itself then has. Without one, 5 s: each driver has its own default
// (redis 5 s, amqp and mqtt 30 s), which only the driver knows.
constexpr int64_t kDefaultPublishWaitMs = 5000;
int64_t publish_wait_ms(const Config& config, const std::string& queue_id) {
  const QueueEntry* q = config.find_queue(queue_id);
  const DriverEntry* d = q == nullptr ? nullptr : config.find_driver(q->driver);
  if (d == nullptr) return kDefaultPublishWaitMs;
  for (const auto& [key, value] : d->settings) {
    if (key != "publish_timeout" && key != "publish_timeout_ms") continue;
    if (std::optional<int64_t> ms = sdk::parse_duration_ms(value)) return *ms;
  }
  return kDefaultPublishWaitMs;
}

// The payload argument: inline JSON, @FILE, or - for stdin.
Result<std::string> read_payload(const std::string& arg) {
  if (arg != "-" && !arg.starts_with("@")) return arg;
  std::ostringstream text;
  if (arg == "-") {
    text << std::cin.rdbuf();
    if (std::cin.bad()) return invalid_error("cannot read the payload from stdin");
    return text.str();
  }
  const std::string file = arg.substr(1);
  std::ifstream in(file, std::ios::binary);
  if (!in) return invalid_error("cannot open payload file '" + file + "'");
  text << in.rdbuf();
  if (in.bad()) return invalid_error("cannot read payload file '" + file + "'");
  return text.str();
}

}  // namespace

int cmd_publish(int argc, char** argv) {
  if (wants_help(argc, argv)) {
    print_help();
    return kExitOk;
  }
  std::vector<std::string> positional;
  Headers headers;
  std::optional<int64_t> wait_ms;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--wait") {
      int64_t ms = 0;
      if (Status w = read_duration_option(argc, argv, &i, true, &ms); !w.ok())
        return fail(kCmd, w.message(), kExitUsage);
      wait_ms = ms;
    } else if (a == "-H" || a == "--header") {
      if (i + 1 >= argc) return fail(kCmd, "-H needs key=value", kExitUsage);
      auto h = parse_header_arg(argv[++i]);
      if (!h.ok()) return fail(kCmd, h.status().message(), kExitUsage);
      headers.push_back(std::move(*h));
    } else if (a.starts_with("-H") && a.size() > 2) {
      auto h = parse_header_arg(a.substr(2));
      if (!h.ok()) return fail(kCmd, h.status().message(), kExitUsage);
      headers.push_back(std::move(*h));
    } else if (a.size() > 1 && a[0] == '-' && (a[1] < '0' || a[1] > '9')) {  // "-5" is a JSON payload
      return fail(kCmd, "unknown option '" + std::string(a) + "' (see qplug publish --help)", kExitUsage);
    } else {
      positional.emplace_back(a);
    }
  }
  if (positional.size() != 3) {
    return fail(kCmd,
                "expected CONFIG QUEUE_ID JSON, got " + std::to_string(positional.size()) +
                    " argument(s) (see qplug publish --help)",
                kExitUsage);
  }
  auto json = read_payload(positional[2]);
  if (!json.ok()) return fail(kCmd, json.status().message(), kExitUsage);
  auto payload = find_codec("json")->decode(*json, "application/json");
  if (!payload.ok()) return fail(kCmd, "invalid JSON payload: " + payload.status().message(), kExitUsage);

  auto config = load_config(positional[0]);
  if (!config.ok()) return fail(kCmd, config.status());
  std::unique_ptr<Runtime> rt;
  std::optional<Status> loaded = retry_while_unreachable(
      kCmd,
      [&] {
        auto r = Runtime::load(positional[0]);
        if (!r.ok()) return r.status();
        rt = std::move(r).value();
        return ok_status();
      },
      wait_ms ? *wait_ms : publish_wait_ms(*config, positional[1]), nullptr);
  if (!loaded->ok()) return fail(kCmd, *loaded);
  Status s = rt->publish(positional[1], *payload, headers);
  rt->stop();
  if (!s.ok()) return fail(kCmd, s);
  std::cout << "published to " << positional[1] << "\n";
  return kExitOk;
}

}  // namespace qplug::cli
