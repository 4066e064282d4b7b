// mqtt_spool_record.cpp -- see mqtt_spool_record.hpp.
#include "mqtt_spool_record.hpp"

#include <cstdint>
#include <cstring>

namespace qplug::mqtt {
namespace {
constexpr uint8_t kVersion = 1;         // no due time
constexpr uint8_t kVersionDelayed = 2;  // with a due time

void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
void put_u64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
void put_str(std::string& out, std::string_view s) {
  put_u32(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

// Reads from the front of `in`; every getter fails (false) past the end.
struct Reader {
  std::string_view in;
  bool u8(uint8_t* v) {
    if (in.empty()) return false;
    *v = static_cast<uint8_t>(in[0]);
    in.remove_prefix(1);
    return true;
  }
  bool u32(uint32_t* v) {
    if (in.size() < 4) return false;
    *v = 0;
    for (int i = 0; i < 4; ++i) *v |= uint32_t{static_cast<uint8_t>(in[i])} << (8 * i);
    in.remove_prefix(4);
    return true;
  }
  bool u64(uint64_t* v) {
    if (in.size() < 8) return false;
    *v = 0;
    for (int i = 0; i < 8; ++i) *v |= uint64_t{static_cast<uint8_t>(in[i])} << (8 * i);
    in.remove_prefix(8);
    return true;
  }
  bool str(std::string* s) {
    uint32_t n = 0;
    if (!u32(&n) || in.size() < n) return false;
    s->assign(in.substr(0, n));
    in.remove_prefix(n);
    return true;
  }
};
}  // namespace

std::string encode_spool_record(const sdk::OwnedMessage& m, int64_t due_ms) {
  std::string out;
  out.reserve(40 + m.id.size() + m.content_type.size() + m.body.size());
  out.push_back(static_cast<char>(due_ms > 0 ? kVersionDelayed : kVersion));
  put_u32(out, m.attempts);
  if (due_ms > 0) put_u64(out, static_cast<uint64_t>(due_ms));
  put_str(out, m.id);
  put_str(out, m.content_type);
  put_str(out, m.body);
  put_u32(out, static_cast<uint32_t>(m.headers.size()));
  for (const sdk::OwnedHeader& h : m.headers) {
    put_str(out, h.key);
    out.push_back(static_cast<char>(h.type));
    switch (h.type) {
      case QPLUG_VALUE_BOOL:
      case QPLUG_VALUE_INT64:
        put_u64(out, static_cast<uint64_t>(h.i64));
        break;
      case QPLUG_VALUE_DOUBLE: {
        uint64_t bits = 0;
        std::memcpy(&bits, &h.f64, sizeof bits);
        put_u64(out, bits);
        break;
      }
      case QPLUG_VALUE_STRING:
      case QPLUG_VALUE_BYTES:
        put_str(out, h.data);
        break;
      default:
        break;
    }
  }
  return out;
}

std::optional<sdk::OwnedMessage> decode_spool_record(std::string_view bytes, int64_t* due_ms) {
  Reader r{bytes};
  sdk::OwnedMessage m;
  uint8_t version = 0;
  uint32_t headers = 0;
  uint64_t due = 0;
  if (!r.u8(&version) || (version != kVersion && version != kVersionDelayed) || !r.u32(&m.attempts))
    return std::nullopt;
  if (version == kVersionDelayed && (!r.u64(&due) || due == 0 || due > static_cast<uint64_t>(INT64_MAX)))
    return std::nullopt;
  if (!r.str(&m.id) || !r.str(&m.content_type) || !r.str(&m.body) || !r.u32(&headers)) return std::nullopt;
  for (uint32_t i = 0; i < headers; ++i) {
    sdk::OwnedHeader h;
    uint8_t type = 0;
    uint64_t bits = 0;
    if (!r.str(&h.key) || !r.u8(&type)) return std::nullopt;
    h.type = type;
    switch (h.type) {
      case QPLUG_VALUE_BOOL:
      case QPLUG_VALUE_INT64:
        if (!r.u64(&bits)) return std::nullopt;
        h.i64 = static_cast<int64_t>(bits);
        break;
      case QPLUG_VALUE_DOUBLE:
        if (!r.u64(&bits)) return std::nullopt;
        std::memcpy(&h.f64, &bits, sizeof bits);
        break;
      case QPLUG_VALUE_STRING:
      case QPLUG_VALUE_BYTES:
        if (!r.str(&h.data)) return std::nullopt;
        break;
      case QPLUG_VALUE_NULL:
        break;
      default:
        return std::nullopt;
    }
    m.headers.push_back(std::move(h));
  }
  if (!r.in.empty()) return std::nullopt;
  if (due_ms != nullptr) *due_ms = static_cast<int64_t>(due);
  return m;
}

}  // namespace qplug::mqtt
