// qplug/message.hpp -- the message model: ID (UUIDv7 unless set), typed
// headers, encoded body and content type.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace qplug {

// A header value keeps its type through every driver: string, int, float, bool.
using HeaderValue = std::variant<std::monostate, bool, int64_t, double, std::string>;
using Headers = std::vector<std::pair<std::string, HeaderValue>>;

// Lookup by key; nullptr when missing.
const HeaderValue* find_header(const Headers& headers, std::string_view key);

struct Message {
  std::string id;            // empty on publish: the core assigns a UUIDv7
  std::string content_type;  // empty on publish: the queue's codec sets it
  std::string body;          // encoded bytes
  Headers headers;
  uint32_t attempts = 0;  // deliveries so far, this one included (1 on first delivery)
};

// A new time-ordered UUIDv7 in canonical 8-4-4-4-12 lowercase form.
std::string new_uuid_v7();

}  // namespace qplug
