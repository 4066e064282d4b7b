// abi_message.hpp -- conversions between core messages and ABI views.
//
// Outgoing: borrowed qplug_message/qplug_header views over core strings (the
// driver copies what it keeps). Incoming: a delivered view copied into a
// Message whose buffers are reused from one delivery to the next.
#pragma once

#include <qplug/driver.h>

#include <qplug/config.hpp>
#include <qplug/message.hpp>
#include <string_view>
#include <vector>

namespace qplug::detail {

inline qplug_str to_abi_str(std::string_view s) { return qplug_str{s.data(), s.size()}; }
inline std::string_view from_abi_str(qplug_str s) {
  return s.ptr == nullptr ? std::string_view() : std::string_view(s.ptr, s.len);
}

// Appends one qplug_header per entry of `headers` to *out (views into `headers`).
void append_abi_headers(const Headers& headers, std::vector<qplug_header>* out);

// A view of `m` (whose headers were converted into `headers`).
qplug_message abi_message_view(const Message& m, const qplug_header* headers, size_t header_count);

// Copies a delivered message into *out, reusing its buffers.
void copy_from_abi(const qplug_message& in, Message* out);

// Flattened config as borrowed qplug_kv views.
std::vector<qplug_kv> to_abi_kvs(const KeyValues& kvs);

}  // namespace qplug::detail
