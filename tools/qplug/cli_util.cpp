// cli_util.cpp -- helpers shared by the subcommands.
#include "cli_util.hpp"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <qplug/sdk/parse.hpp>

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

// A retryable failure says so: a script (or an operator) may try again.
int fail(std::string_view command, const Status& status) {
  return fail(command, status.to_string() + (status.retryable() ? " (retryable)" : ""), status_exit_code(status));
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

namespace {

Result<HeaderValue> typed_header_value(const std::string& key, const std::string& type, const std::string& text,
                                       std::string_view arg) {
  const std::string where = "header '" + std::string(arg) + "': ";
  if (type == "string") return HeaderValue(text);
  if (type == "int") {
    int64_t i = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), i);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
      return invalid_error(where + "'" + text + "' is not an integer in the 64-bit range");
    }
    return HeaderValue(i);
  }
  if (type == "float") {
    char* end = nullptr;
    errno = 0;
    const double d = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size() || errno != 0 || !std::isfinite(d) ||
        text.find_first_not_of("0123456789+-.eE") != std::string::npos) {
      return invalid_error(where + "'" + text + "' is not a finite number");
    }
    return HeaderValue(d);
  }
  if (type == "bool") {
    std::optional<bool> b = sdk::parse_bool(text);
    if (!b) return invalid_error(where + "'" + text + "' is not a boolean (true/false, yes/no, on/off, 1/0)");
    return HeaderValue(*b);
  }
  return invalid_error(where + "unknown type '" + type + "' for '" + key +
                       "' (use key=value for a string, or key:int=, key:float=, key:bool=, key:string=)");
}

}  // namespace

Result<std::pair<std::string, HeaderValue>> parse_header_arg(std::string_view arg) {
  const size_t eq = arg.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return invalid_error("header '" + std::string(arg) + "' must be key=value (or key:int=, key:float=, key:bool=)");
  }
  std::string key(arg.substr(0, eq));
  std::string type = "string";
  if (const size_t colon = key.rfind(':'); colon != std::string::npos) {
    type = key.substr(colon + 1);
    key.resize(colon);
    if (key.empty()) return invalid_error("header '" + std::string(arg) + "' has an empty key");
  }
  auto value = typed_header_value(key, type, std::string(arg.substr(eq + 1)), arg);
  if (!value.ok()) return value.status();
  return std::pair<std::string, HeaderValue>{std::move(key), std::move(value).value()};
}

}  // namespace qplug::cli
