// Names of error kinds and the printable form of a Status.
#include <qplug/status.hpp>

namespace qplug {

std::string_view kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::OK:
      return "OK";
    case ErrorKind::INVALID:
      return "INVALID";
    case ErrorKind::NOT_FOUND:
      return "NOT_FOUND";
    case ErrorKind::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case ErrorKind::UNAVAILABLE:
      return "UNAVAILABLE";
    case ErrorKind::TIMEOUT:
      return "TIMEOUT";
    case ErrorKind::FULL:
      return "FULL";
    case ErrorKind::CANCELED:
      return "CANCELED";
    case ErrorKind::INTERNAL:
      return "INTERNAL";
  }
  // A kind cast from an out-of-range integer (e.g. from a foreign ABI code).
  return "UNKNOWN";
}

std::string Status::to_string() const {
  std::string out(kind_name(kind_));
  if (!message_.empty()) {
    out += ": ";
    out += message_;
  }
  return out;
}

}  // namespace qplug
