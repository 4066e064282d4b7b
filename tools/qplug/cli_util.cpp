// cli_util.cpp -- helpers shared by the subcommands.
#include "cli_util.hpp"

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <iostream>

namespace qplug::cli {

bool wants_help(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--help" || a == "-h") return true;
  }
  return false;
}

int fail(std::string_view command, std::string_view message, int code) {
  std::cerr << "qplug " << command << ": " << message << "\n";
  return code;
}

int fail(std::string_view command, const Status& status) {
  return fail(command, status.to_string(), status_exit_code(status));
}

int status_exit_code(const Status& status) {
  if (status.ok()) return kExitOk;
  switch (status.kind()) {
    case ErrorKind::INVALID:
    case ErrorKind::NOT_FOUND:
      return kExitUsage;
    default:
      return kExitRuntime;
  }
}

Result<std::pair<std::string, HeaderValue>> parse_header_arg(std::string_view arg) {
  const size_t eq = arg.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return invalid_error("header '" + std::string(arg) + "' must be key=value");
  }
  std::string key(arg.substr(0, eq));
  const std::string_view text = arg.substr(eq + 1);
  if (text == "true") return std::pair<std::string, HeaderValue>{key, true};
  if (text == "false") return std::pair<std::string, HeaderValue>{key, false};
  int64_t i = 0;
  auto [iend, iec] = std::from_chars(text.data(), text.data() + text.size(), i);
  if (!text.empty() && iec == std::errc() && iend == text.data() + text.size()) {
    return std::pair<std::string, HeaderValue>{key, i};
  }
  // strtod needs a NUL-terminated copy; accept only a full, finite parse.
  const std::string copy(text);
  char* end = nullptr;
  errno = 0;
  const double d = std::strtod(copy.c_str(), &end);
  const bool numeric = !copy.empty() && end == copy.c_str() + copy.size() && errno == 0 &&
                       copy.find_first_not_of("0123456789+-.eE") == std::string::npos;
  if (numeric) return std::pair<std::string, HeaderValue>{key, d};
  return std::pair<std::string, HeaderValue>{key, copy};
}

}  // namespace qplug::cli
