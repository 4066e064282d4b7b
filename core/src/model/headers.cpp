// Header lookup. Headers are few (a handful per message), so a linear scan
// beats any index.
#include <qplug/message.hpp>

namespace qplug {

const HeaderValue* find_header(const Headers& headers, std::string_view key) {
  for (const auto& [k, v] : headers) {
    if (k == key) return &v;
  }
  return nullptr;
}

}  // namespace qplug
