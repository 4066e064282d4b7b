// The codecs compiled into core; find_codec() maps names onto them.
#pragma once

#include <qplug/codec.hpp>

namespace qplug::codec {

const Codec& json_codec();
const Codec& msgpack_codec();

}  // namespace qplug::codec
