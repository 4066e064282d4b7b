// abi_message.cpp -- typed header and message conversions across the ABI.
#include "runtime/abi_message.hpp"

#include <qplug/sdk/versioned.hpp>
#include <type_traits>

namespace qplug::detail {
namespace {

qplug_value to_abi_value(const HeaderValue& v) {
  qplug_value out{};
  std::visit(
      [&out](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          out.type = QPLUG_VALUE_NULL;
        } else if constexpr (std::is_same_v<T, bool>) {
          out.type = QPLUG_VALUE_BOOL;
          out.as.boolean = x ? 1 : 0;
        } else if constexpr (std::is_same_v<T, int64_t>) {
          out.type = QPLUG_VALUE_INT64;
          out.as.i64 = x;
        } else if constexpr (std::is_same_v<T, double>) {
          out.type = QPLUG_VALUE_DOUBLE;
          out.as.f64 = x;
        } else {
          out.type = QPLUG_VALUE_STRING;
          out.as.str = to_abi_str(x);
        }
      },
      v);
  return out;
}

void assign_from_abi(const qplug_value& v, HeaderValue* out) {
  switch (v.type) {
    case QPLUG_VALUE_BOOL:
      *out = v.as.boolean != 0;
      break;
    case QPLUG_VALUE_INT64:
      *out = v.as.i64;
      break;
    case QPLUG_VALUE_DOUBLE:
      *out = v.as.f64;
      break;
    case QPLUG_VALUE_STRING: {
      // Reuse the string's capacity when the previous value was a string too.
      if (auto* s = std::get_if<std::string>(out)) {
        s->assign(from_abi_str(v.as.str));
      } else {
        *out = std::string(from_abi_str(v.as.str));
      }
      break;
    }
    case QPLUG_VALUE_BYTES: {
      // The C++ header model has no bytes type: bytes arrive as a string.
      std::string_view b(reinterpret_cast<const char*>(v.as.bytes.ptr), v.as.bytes.ptr == nullptr ? 0 : v.as.bytes.len);
      *out = std::string(b);
      break;
    }
    default:
      *out = std::monostate{};
      break;
  }
}

}  // namespace

void append_abi_headers(const Headers& headers, std::vector<qplug_header>* out) {
  for (const auto& [key, value] : headers) {
    out->push_back(qplug_header{to_abi_str(key), to_abi_value(value)});
  }
}

qplug_message abi_message_view(const Message& m, const qplug_header* headers, size_t header_count) {
  auto v = qplug::sdk::versioned<qplug_message>();
  v.id = to_abi_str(m.id);
  v.content_type = to_abi_str(m.content_type);
  v.body = qplug_bytes{reinterpret_cast<const uint8_t*>(m.body.data()), m.body.size()};
  v.headers = header_count == 0 ? nullptr : headers;
  v.header_count = header_count;
  v.attempts = 0;
  return v;
}

void copy_from_abi(const qplug_message& in, Message* out) {
  out->id.assign(from_abi_str(in.id));
  out->content_type.assign(from_abi_str(in.content_type));
  out->body.assign(reinterpret_cast<const char*>(in.body.ptr), in.body.ptr == nullptr ? 0 : in.body.len);
  const size_t n = in.headers == nullptr ? 0 : in.header_count;
  out->headers.resize(n);
  for (size_t i = 0; i < n; ++i) {
    out->headers[i].first.assign(from_abi_str(in.headers[i].key));
    assign_from_abi(in.headers[i].value, &out->headers[i].second);
  }
  // A driver that does not count deliveries reports 0: this is at least the first.
  out->attempts = in.attempts == 0 ? 1 : in.attempts;
}

std::vector<qplug_kv> to_abi_kvs(const KeyValues& kvs) {
  std::vector<qplug_kv> out;
  out.reserve(kvs.size());
  for (const auto& [k, v] : kvs) out.push_back(qplug_kv{to_abi_str(k), to_abi_str(v)});
  return out;
}

}  // namespace qplug::detail
