// cli_util.hpp -- small helpers shared by the subcommands: exit codes, error
// lines, --help detection, status -> exit code, typed header parsing.
#pragma once

#include <qplug/message.hpp>
#include <qplug/status.hpp>
#include <string>
#include <string_view>

namespace qplug::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntime = 1;
inline constexpr int kExitUsage = 2;

// The exit-code paragraph every --help prints.
inline constexpr const char* kExitCodesHelp =
    "Exit codes: 0 ok, 1 runtime failure (broker unreachable, handler or driver failure),\n"
    "            2 usage or configuration error.\n"
    "Environment: QPLUG_PLUGIN_PATH (extra plugin directories, colon-separated),\n"
    "             QPLUG_LOG=debug|info|warn|error (default warn).\n";

bool wants_help(int argc, char** argv);

// Prints "qplug <command>: <message>" to stderr, returns `code`.
int fail(std::string_view command, std::string_view message, int code);
// Same for a Status; the exit code comes from status_exit_code().
int fail(std::string_view command, const Status& status);

// INVALID and NOT_FOUND are the user's input (2); everything else is 1.
int status_exit_code(const Status& status);

// "-H key=value" is a string header, always (zip=01234 stays "01234");
// "-H key:int=5", "key:float=1.5", "key:bool=true", "key:string=x" type it.
// The type is what follows the key's last ':' (so "a:b:string=v" is key "a:b").
Result<std::pair<std::string, HeaderValue>> parse_header_arg(std::string_view arg);

}  // namespace qplug::cli
