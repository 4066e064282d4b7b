// rstream_fields.cpp -- encoding qplug messages as stream fields and back.
#include "rstream_fields.hpp"

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <qplug/sdk/status.hpp>
#include <qplug/sdk/versioned.hpp>

#include "rstream_connection.hpp"

namespace qplug::rstream {

namespace {
constexpr std::string_view kPrefixString = "h.s:";
constexpr std::string_view kPrefixInt = "h.i:";
constexpr std::string_view kPrefixFloat = "h.f:";
constexpr std::string_view kPrefixBool = "h.b:";
constexpr std::string_view kPrefixBytes = "h.x:";
constexpr std::string_view kPrefixNull = "h.n:";
// Decoding dispatches on the type letter (h.<letter>:) in decode_typed().

std::string_view span(qplug_str s) { return s.len == 0 ? std::string_view{} : std::string_view(s.ptr, s.len); }

std::string format_double(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// Reply strings are NUL-terminated by hiredis; a value with an embedded NUL
// (or trailing junk) does not parse, so it stays a string header.
bool parse_int(const redisReply* v, int64_t* out) {
  if (v->str == nullptr || v->len == 0) return false;
  char* end = nullptr;
  errno = 0;
  long long n = std::strtoll(v->str, &end, 10);
  if (errno != 0 || end != v->str + v->len) return false;
  *out = n;
  return true;
}

bool parse_double(const redisReply* v, double* out) {
  if (v->str == nullptr || v->len == 0) return false;
  char* end = nullptr;
  double d = std::strtod(v->str, &end);
  if (end != v->str + v->len) return false;
  *out = d;
  return true;
}

// Header values become either a view into the caller's message or an owned
// formatted string; `owned` is reserved up front so views stay stable.
void push_pair(EncodedFields* out, std::string key, std::string_view value, bool own_value, std::string owned_value) {
  out->owned.push_back(std::move(key));
  out->argv.push_back(out->owned.back());
  if (own_value) {
    out->owned.push_back(std::move(owned_value));
    out->argv.push_back(out->owned.back());
  } else {
    out->argv.push_back(value);
  }
}
}  // namespace

bool encode_fields(const qplug_message& m, EncodedFields* out, qplug_status* st) {
  out->owned.clear();
  out->argv.clear();
  out->owned.reserve(2 * m.header_count);  // never reallocates: views stay valid
  out->argv.push_back("id");
  out->argv.push_back(span(m.id));
  if (m.content_type.len != 0) {
    out->argv.push_back("ct");
    out->argv.push_back(span(m.content_type));
  }
  out->argv.push_back("body");
  out->argv.push_back(m.body.len == 0 ? std::string_view{}
                                      : std::string_view(reinterpret_cast<const char*>(m.body.ptr), m.body.len));
  for (size_t i = 0; i < m.header_count; ++i) {
    const qplug_header& h = m.headers[i];
    std::string key(span(h.key));
    switch (h.value.type) {
      case QPLUG_VALUE_STRING:
        push_pair(out, std::string(kPrefixString) + key, span(h.value.as.str), false, {});
        break;
      case QPLUG_VALUE_BYTES:
        push_pair(out, std::string(kPrefixBytes) + key,
                  h.value.as.bytes.len == 0
                      ? std::string_view{}
                      : std::string_view(reinterpret_cast<const char*>(h.value.as.bytes.ptr), h.value.as.bytes.len),
                  false, {});
        break;
      case QPLUG_VALUE_INT64:
        push_pair(out, std::string(kPrefixInt) + key, {}, true, std::to_string(h.value.as.i64));
        break;
      case QPLUG_VALUE_DOUBLE:
        push_pair(out, std::string(kPrefixFloat) + key, {}, true, format_double(h.value.as.f64));
        break;
      case QPLUG_VALUE_BOOL:
        push_pair(out, std::string(kPrefixBool) + key, h.value.as.boolean ? "true" : "false", false, {});
        break;
      case QPLUG_VALUE_NULL:
        push_pair(out, std::string(kPrefixNull) + key, "", false, {});
        break;
      default:
        sdk::fail(st, QPLUG_INVALID, false, "redis publish: header '%s' has unknown value type %d", key.c_str(),
                  static_cast<int>(h.value.type));
        return false;
    }
  }
  return true;
}

namespace {
// reply_text() as an ABI span (borrowed from the reply).
qplug_str text_of(const redisReply* r) {
  std::string_view t = reply_text(r);
  return qplug_str{t.data() == nullptr ? "" : t.data(), t.size()};
}

// Fills `h` from a typed field ("h.i:attempts" = "3"). False when the field
// is not typed or its value does not parse as its type.
bool decode_typed(const redisReply* k, const redisReply* v, qplug_header* h) {
  std::string_view key = reply_text(k);
  if (key.size() <= 4 || key.substr(0, 2) != "h." || key[3] != ':') return false;
  h->key = qplug_str{k->str + 4, k->len - 4};
  h->value = qplug_value{};
  switch (key[2]) {
    case 's':
      h->value.type = QPLUG_VALUE_STRING;
      h->value.as.str = text_of(v);
      return true;
    case 'x': {
      qplug_str t = text_of(v);
      h->value.type = QPLUG_VALUE_BYTES;
      h->value.as.bytes = qplug_bytes{reinterpret_cast<const uint8_t*>(t.ptr), t.len};
      return true;
    }
    case 'n':
      h->value.type = QPLUG_VALUE_NULL;
      return true;
    case 'i':
      h->value.type = QPLUG_VALUE_INT64;
      return parse_int(v, &h->value.as.i64);
    case 'f':
      h->value.type = QPLUG_VALUE_DOUBLE;
      return parse_double(v, &h->value.as.f64);
    case 'b': {
      std::string_view b = reply_text(v);
      h->value.type = QPLUG_VALUE_BOOL;
      h->value.as.boolean = b == "true" || b == "1";
      return h->value.as.boolean != 0 || b == "false" || b == "0";
    }
    default:
      return false;
  }
}
}  // namespace

bool decode_fields(const redisReply* fields, std::string_view entry_id, std::vector<qplug_header>* headers,
                   qplug_message* out, std::string* why) {
  *out = sdk::versioned<qplug_message>();
  headers->clear();
  if (fields == nullptr || fields->type != REDIS_REPLY_ARRAY || fields->elements % 2 != 0) {
    *why = "entry " + std::string(entry_id) + " has no field/value list";
    return false;
  }
  if (fields->elements > 6) headers->reserve(fields->elements / 2 - 3);  // all but id, ct, body
  bool has_id = false;
  for (size_t i = 0; i + 1 < fields->elements; i += 2) {
    const redisReply* k = fields->element[i];
    const redisReply* v = fields->element[i + 1];
    std::string_view key = reply_text(k);
    if (key == "id") {
      out->id = text_of(v);
      has_id = out->id.len != 0;
    } else if (key == "ct") {
      out->content_type = text_of(v);
    } else if (key == "body") {
      qplug_str b = text_of(v);
      out->body = qplug_bytes{reinterpret_cast<const uint8_t*>(b.ptr), b.len};
    } else {
      qplug_header h{};
      if (!decode_typed(k, v, &h)) {
        // A plain field written by another client, or a typed field whose
        // value does not parse: kept as a string header under its full name.
        h.key = text_of(k);
        h.value = qplug_value{};
        h.value.type = QPLUG_VALUE_STRING;
        h.value.as.str = text_of(v);
      }
      headers->push_back(h);
    }
  }
  if (!has_id) out->id = qplug_str{entry_id.data(), entry_id.size()};
  out->headers = headers->empty() ? nullptr : headers->data();
  out->header_count = headers->size();
  return true;
}

}  // namespace qplug::rstream
