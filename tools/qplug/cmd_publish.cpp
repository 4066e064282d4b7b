// cmd_publish.cpp -- `qplug publish CONFIG QUEUE_ID JSON [-H key=value]...`:
// publishes one message and waits until the broker took responsibility.
#include <iostream>
#include <qplug/codec.hpp>
#include <qplug/runtime.hpp>

#include "cli_util.hpp"
#include "commands.hpp"

namespace qplug::cli {
namespace {

constexpr const char* kCmd = "publish";

void print_help() {
  std::cout << "usage: qplug publish CONFIG QUEUE_ID JSON [-H key=value]...\n\n"
               "Publishes one message to QUEUE_ID (namespace:name) of CONFIG. JSON is the\n"
               "payload, parsed as JSON (quote it for the shell: '{\"user_id\": 456}'); it is\n"
               "encoded with the queue's codec. Each -H adds a header; values are typed:\n"
               "integers (-H retries=3), floats (-H ratio=0.5), true/false, else a string\n"
               "(-H priority=high). Returns once the broker took responsibility.\n\n"
            << kExitCodesHelp;
}

}  // namespace

int cmd_publish(int argc, char** argv) {
  if (wants_help(argc, argv)) {
    print_help();
    return kExitOk;
  }
  std::vector<std::string> positional;
  Headers headers;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "-H" || a == "--header") {
      if (i + 1 >= argc) return fail(kCmd, "-H needs key=value", kExitUsage);
      auto h = parse_header_arg(argv[++i]);
      if (!h.ok()) return fail(kCmd, h.status().message(), kExitUsage);
      headers.push_back(std::move(*h));
    } else if (a.starts_with("-H") && a.size() > 2) {
      auto h = parse_header_arg(a.substr(2));
      if (!h.ok()) return fail(kCmd, h.status().message(), kExitUsage);
      headers.push_back(std::move(*h));
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
  const std::string& json = positional[2];
  auto payload = find_codec("json")->decode(json, "application/json");
  if (!payload.ok()) return fail(kCmd, "invalid JSON payload: " + payload.status().message(), kExitUsage);

  auto rt = Runtime::load(positional[0]);
  if (!rt.ok()) return fail(kCmd, rt.status());
  Status s = (*rt)->publish(positional[1], *payload, headers);
  (*rt)->stop();
  if (!s.ok()) return fail(kCmd, s);
  std::cout << "published to " << positional[1] << "\n";
  return kExitOk;
}

}  // namespace qplug::cli
