// mqtt_spool_record.hpp -- one spooled message as bytes and back.
//
// The spool (mqtt_spool.hpp) stores the message as the consumer decoded it
// (id, content type, typed headers, body, attempts), not the MQTT packet:
// libmosquitto has no property serialiser, and the decoded form is what the
// host is handed again on replay. Layout, all integers little-endian:
//   u8 version (1) | u32 attempts | str id | str content_type | str body |
//   u32 header count | per header: str key, u8 type, then i64 (BOOL, INT64),
//   f64 bits (DOUBLE), str (STRING, BYTES) or nothing (NULL)
// where str = u32 length + bytes. A record that does not parse is refused,
// never guessed at.
#pragma once

#include <optional>
#include <qplug/sdk/message.hpp>
#include <string>
#include <string_view>

namespace qplug::mqtt {

std::string encode_spool_record(const sdk::OwnedMessage& m);
std::optional<sdk::OwnedMessage> decode_spool_record(std::string_view bytes);

}  // namespace qplug::mqtt
