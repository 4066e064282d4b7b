// mqtt_spool_record.hpp -- one spooled message as bytes and back.
//
// The spool (mqtt_spool.hpp) stores the message as the consumer decoded it
// (id, content type, typed headers, body, attempts), not the MQTT packet:
// libmosquitto has no property serialiser, and the decoded form is what the
// host is handed again on replay. Layout, all integers little-endian:
//   u8 version (1 or 2) | u32 attempts | [version 2: i64 due time, epoch ms] |
//   str id | str content_type | str body |
//   u32 header count | per header: str key, u8 type, then i64 (BOOL, INT64),
//   f64 bits (DOUBLE), str (STRING, BYTES) or nothing (NULL)
// where str = u32 length + bytes. Version 2 is written only for a delayed
// message (due time > 0): every other record stays version 1, which older
// builds read too, and version 1 records on users' disks keep reading (due 0).
// A record that does not parse is refused, never guessed at.
#pragma once

#include <cstdint>
#include <optional>
#include <qplug/sdk/message.hpp>
#include <string>
#include <string_view>

namespace qplug::mqtt {

// due_ms > 0: the message is not to be handed out before it (epoch ms).
std::string encode_spool_record(const sdk::OwnedMessage& m, int64_t due_ms = 0);
// *due_ms (when not null) gets the record's due time, 0 for none.
std::optional<sdk::OwnedMessage> decode_spool_record(std::string_view bytes, int64_t* due_ms = nullptr);

}  // namespace qplug::mqtt
