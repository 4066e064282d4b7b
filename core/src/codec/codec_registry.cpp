// Codec lookup by the names a config or a message's content type may use.
#include "codec/builtin_codecs.hpp"

namespace qplug {

const Codec* find_codec(std::string_view name) {
  if (name == "json" || name == "json/plain" || name == "application/json") return &codec::json_codec();
  if (name == "msgpack" || name == "application/msgpack" || name == "application/x-msgpack") {
    return &codec::msgpack_codec();
  }
  return nullptr;
}

}  // namespace qplug
