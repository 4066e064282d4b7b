// rstream_fields.hpp -- the documented stream-entry field layout (see
// docs/drivers/redis.md, "Field layout"), readable and writable from
// redis-cli:
//   id    message ID             ct   content type         body  payload bytes
//   h.s:<key> string header      h.i:<key> int64 (decimal)  h.f:<key> double
//   h.b:<key> bool (true/false)  h.x:<key> raw bytes        h.n:<key> null (value ignored)
// Any other field (e.g. `XADD q * body hi priority high` from redis-cli) is
// delivered as a string header of the same name.
#pragma once

#include <hiredis.h>
#include <qplug/driver.h>

#include <string>
#include <string_view>
#include <vector>

namespace qplug::rstream {

// Appends field/value pairs of `m` to `args` (which owns the storage for the
// typed header values; argv views point into it and into `m`).
// `m` must have passed sdk::check_message() (spans, keys, value types: the
// SDK's one rule set); false with `status` filled only for a value type this
// layout cannot store.
struct EncodedFields {
  std::vector<std::string> owned;      // prefixed keys and formatted numbers
  std::vector<std::string_view> argv;  // XADD arguments after the ID
};
bool encode_fields(const qplug_message& m, EncodedFields* out, qplug_status* status);

// Decodes the [field, value, ...] array of one stream entry into `out`, a
// view whose spans point into the reply (no copies: the caller keeps the
// reply alive as long as the view) and whose headers are stored in *headers.
// `entry_id` (which must outlive the view too) is the message ID when the
// entry has no `id` field. Attempts are left for the caller to set.
bool decode_fields(const redisReply* fields, std::string_view entry_id, std::vector<qplug_header>* headers,
                   qplug_message* out, std::string* why);

}  // namespace qplug::rstream
