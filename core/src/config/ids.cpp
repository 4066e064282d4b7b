// Queue/entry IDs ("namespace:name") and source locations.
#include <qplug/config.hpp>

namespace qplug {
namespace {

bool id_char_ok(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

// Empty string when `part` is a valid namespace or name, else why not.
std::string id_part_problem(std::string_view part, std::string_view what) {
  if (part.empty()) return std::string(what) + " is empty";
  for (char c : part) {
    if (!id_char_ok(c)) {
      return std::string(what) + " contains '" + std::string(1, c) + "' (allowed: letters, digits, '_', '.', '-')";
    }
  }
  return {};
}

}  // namespace

std::string SourceLocation::to_string() const {
  if (line <= 0) return file;
  return file + ":" + std::to_string(line);
}

// IDs name broker objects and appear in log lines and headers: 255 bytes,
// the AMQP short-string bound every driver can carry, is plenty.
constexpr size_t kMaxIdBytes = 255;

Status validate_queue_id(std::string_view id) {
  if (id.empty()) return invalid_error("queue ID is empty");
  if (id.size() > kMaxIdBytes) {
    return invalid_error("ID '" + std::string(id.substr(0, 40)) + "...' is " + std::to_string(id.size()) +
                         " bytes, more than " + std::to_string(kMaxIdBytes));
  }
  const size_t colon = id.find(':');
  if (colon == std::string_view::npos) {
    return invalid_error("ID '" + std::string(id) + "' must be namespace:name");
  }
  std::string problem = id_part_problem(id.substr(0, colon), "namespace");
  if (problem.empty()) problem = id_part_problem(id.substr(colon + 1), "name");
  if (!problem.empty()) return invalid_error("ID '" + std::string(id) + "': " + problem);
  return ok_status();
}

Result<std::string> resolve_id(std::string_view default_namespace, std::string_view ref) {
  if (ref.empty()) return invalid_error("reference is empty");
  if (ref.find(':') != std::string_view::npos) {
    Status st = validate_queue_id(ref);
    if (!st.ok()) return st;
    return std::string(ref);
  }
  if (default_namespace.empty()) {
    return invalid_error("relative reference '" + std::string(ref) + "' has no namespace to resolve in");
  }
  std::string full = std::string(default_namespace) + ":" + std::string(ref);
  Status st = validate_queue_id(full);
  if (!st.ok()) return st;
  return full;
}

}  // namespace qplug
