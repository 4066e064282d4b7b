// Value helpers that are not worth inlining in the header.
#include <qplug/value.hpp>

namespace qplug {

const Value* Value::find(std::string_view key) const {
  const Map* map = std::get_if<Map>(&v_);
  if (map == nullptr) return nullptr;
  for (const auto& [k, v] : *map) {
    if (k == key) return &v;
  }
  return nullptr;
}

}  // namespace qplug
