// amqp_headers.cpp -- qplug message <-> AMQP properties and header table.
#include "amqp_headers.hpp"

#include <limits>
#include <optional>
#include <qplug/sdk/parse.hpp>
#include <qplug/sdk/schedule_headers.hpp>
#include <string_view>

namespace qplug::amqp {
namespace {

amqp_bytes_t amqp_bytes_of(const std::string& s) { return amqp_bytes_t{s.size(), const_cast<char*>(s.data())}; }
std::string amqp_string_of(amqp_bytes_t b) {
  return b.len == 0 ? std::string() : std::string(static_cast<const char*>(b.bytes), b.len);
}

// The neutral `priority`, `ttl` and `delay` headers through the SDK's one
// value reader (sdk/schedule_headers.hpp), so amqp accepts exactly what
// every other driver accepts.
bool amqp_priority_of(const sdk::OwnedHeader& h, uint8_t* out) {
  const std::optional<int> p = sdk::header_priority(sdk::value_view(h));
  if (!p) return false;
  *out = static_cast<uint8_t>(*p);
  return true;
}

bool amqp_duration_ms_of(const sdk::OwnedHeader& h, int64_t* out) {
  const std::optional<int64_t> ms = sdk::header_duration_ms(sdk::value_view(h));
  if (!ms) return false;
  *out = *ms;
  return true;
}

amqp_table_entry_t amqp_entry_of(const sdk::OwnedHeader& h) {
  amqp_table_entry_t e{};
  e.key = amqp_bytes_of(h.key);
  switch (h.type) {
    case QPLUG_VALUE_BOOL:
      e.value.kind = AMQP_FIELD_KIND_BOOLEAN;
      e.value.value.boolean = h.i64 != 0;
      break;
    case QPLUG_VALUE_INT64:
      e.value.kind = AMQP_FIELD_KIND_I64;
      e.value.value.i64 = h.i64;
      break;
    case QPLUG_VALUE_DOUBLE:
      e.value.kind = AMQP_FIELD_KIND_F64;
      e.value.value.f64 = h.f64;
      break;
    case QPLUG_VALUE_STRING:
      e.value.kind = AMQP_FIELD_KIND_UTF8;
      e.value.value.bytes = amqp_bytes_of(h.data);
      break;
    case QPLUG_VALUE_BYTES:
      e.value.kind = AMQP_FIELD_KIND_BYTES;
      e.value.value.bytes = amqp_bytes_of(h.data);
      break;
    default:
      e.value.kind = AMQP_FIELD_KIND_VOID;
      break;
  }
  return e;
}

// The longest AMQP short string (a basic property such as reply_to).
constexpr size_t kMaxShortString = 255;

}  // namespace

std::string OutgoingProperties::build(const sdk::OwnedMessage& m, bool persistent, int64_t default_ttl_ms,
                                      uint32_t attempts, bool priority_queue, bool honour_delay) {
  props_ = amqp_basic_properties_t{};
  delay_ms_ = 0;
  has_priority_ = false;
  int64_t ttl_header_ms = -1;
  entries_.clear();
  entries_.reserve(m.headers.size() + 1);
  auto set = [&](amqp_flags_t flag) { props_._flags |= flag; };
  if (!m.id.empty()) {
    props_.message_id = amqp_bytes_of(m.id);
    set(AMQP_BASIC_MESSAGE_ID_FLAG);
  }
  if (!m.content_type.empty()) {
    props_.content_type = amqp_bytes_of(m.content_type);
    set(AMQP_BASIC_CONTENT_TYPE_FLAG);
  }
  props_.delivery_mode = persistent ? 2 : 1;
  set(AMQP_BASIC_DELIVERY_MODE_FLAG);
  int64_t ttl_ms = default_ttl_ms;
  for (const sdk::OwnedHeader& h : m.headers) {
    // The basic properties are AMQP short strings (at most 255 bytes): a
    // longer value cannot be native, so it is carried verbatim in the
    // headers table (driver.h's rule for neutral keys), never cut or
    // refused; it comes back as the same header.
    const bool is_string = h.type == QPLUG_VALUE_STRING && h.data.size() <= kMaxShortString;
    if (h.key == "correlation_id" && is_string) {
      props_.correlation_id = amqp_bytes_of(h.data);
      set(AMQP_BASIC_CORRELATION_ID_FLAG);
      continue;
    }
    if (h.key == "reply_to" && is_string) {
      props_.reply_to = amqp_bytes_of(h.data);
      set(AMQP_BASIC_REPLY_TO_FLAG);
      continue;
    }
    if (h.key == "message_type" && is_string) {
      props_.type = amqp_bytes_of(h.data);
      set(AMQP_BASIC_TYPE_FLAG);
      continue;
    }
    if (h.key == kAttemptsHeader) continue;  // ours to set, never the caller's
    if (h.key == "priority") {
      if (!amqp_priority_of(h, &props_.priority)) return "header 'priority' must be high, normal, low or 0-9";
      set(AMQP_BASIC_PRIORITY_FLAG);
      has_priority_ = true;
    } else if (h.key == "ttl") {
      if (!amqp_duration_ms_of(h, &ttl_ms)) return "header 'ttl' must be milliseconds or a duration like 5s";
      ttl_header_ms = ttl_ms;
    } else if (h.key == "delay") {
      int64_t d = 0;
      if (!amqp_duration_ms_of(h, &d)) return "header 'delay' must be milliseconds or a duration like 5s";
      if (honour_delay) delay_ms_ = d;
    } else if (h.key == "content_type" && is_string && m.content_type.empty()) {
      props_.content_type = amqp_bytes_of(h.data);
      set(AMQP_BASIC_CONTENT_TYPE_FLAG);
    }
    entries_.push_back(amqp_entry_of(h));
  }
  if (attempts > 1) {
    amqp_table_entry_t e{};
    e.key = amqp_cstring_bytes(kAttemptsHeader);
    e.value.kind = AMQP_FIELD_KIND_I64;
    e.value.value.i64 = attempts;
    entries_.push_back(e);
  }
  // A priority queue treats a message without priority as 0; qplug's
  // contract says absent = normal (5).
  if (priority_queue && !(props_._flags & AMQP_BASIC_PRIORITY_FLAG)) {
    props_.priority = static_cast<uint8_t>(sdk::kDefaultPriority);
    set(AMQP_BASIC_PRIORITY_FLAG);
  }
  if (delay_ms_ > 0) {
    // RabbitMQ drops `expiration` when the delay queue dead-letters the
    // message, so a ttl cannot outlive the delay on the broker; one that runs
    // out before it would hand a dead message over early.
    if (ttl_header_ms >= 0 && ttl_header_ms <= delay_ms_)
      return "header 'ttl' (" + std::to_string(ttl_header_ms) + " ms) expires before header 'delay' (" +
             std::to_string(delay_ms_) + " ms) is due";
    ttl_ms = -1;
  }
  if (ttl_ms >= 0) {
    expiration_ = std::to_string(ttl_ms);
    props_.expiration = amqp_bytes_of(expiration_);
    set(AMQP_BASIC_EXPIRATION_FLAG);
  }
  if (!entries_.empty()) {
    props_.headers.num_entries = static_cast<int>(entries_.size());
    props_.headers.entries = entries_.data();
    set(AMQP_BASIC_HEADERS_FLAG);
  }
  return "";
}

namespace {

// Converts one AMQP field value to a typed qplug header. Returns false for
// kinds qplug cannot represent (nested tables, arrays): those are rendered
// as a string so nothing disappears.
void amqp_header_from(const std::string& key, const amqp_field_value_t& v, sdk::OwnedHeader* h) {
  h->key = key;
  switch (v.kind) {
    case AMQP_FIELD_KIND_BOOLEAN:
      h->type = QPLUG_VALUE_BOOL;
      h->i64 = v.value.boolean ? 1 : 0;
      break;
    case AMQP_FIELD_KIND_I8:
      h->type = QPLUG_VALUE_INT64;
      h->i64 = v.value.i8;
      break;
    case AMQP_FIELD_KIND_U8:
      h->type = QPLUG_VALUE_INT64;
      h->i64 = v.value.u8;
      break;
    case AMQP_FIELD_KIND_I16:
      h->type = QPLUG_VALUE_INT64;
      h->i64 = v.value.i16;
      break;
    case AMQP_FIELD_KIND_U16:
      h->type = QPLUG_VALUE_INT64;
      h->i64 = v.value.u16;
      break;
    case AMQP_FIELD_KIND_I32:
      h->type = QPLUG_VALUE_INT64;
      h->i64 = v.value.i32;
      break;
    case AMQP_FIELD_KIND_U32:
      h->type = QPLUG_VALUE_INT64;
      h->i64 = v.value.u32;
      break;
    case AMQP_FIELD_KIND_I64:
      h->type = QPLUG_VALUE_INT64;
      h->i64 = v.value.i64;
      break;
    case AMQP_FIELD_KIND_U64:
    case AMQP_FIELD_KIND_TIMESTAMP:
      h->type = QPLUG_VALUE_INT64;
      h->i64 = static_cast<int64_t>(v.value.u64);
      break;
    case AMQP_FIELD_KIND_F32:
      h->type = QPLUG_VALUE_DOUBLE;
      h->f64 = v.value.f32;
      break;
    case AMQP_FIELD_KIND_F64:
      h->type = QPLUG_VALUE_DOUBLE;
      h->f64 = v.value.f64;
      break;
    case AMQP_FIELD_KIND_UTF8:
      h->type = QPLUG_VALUE_STRING;
      h->data = amqp_string_of(v.value.bytes);
      break;
    case AMQP_FIELD_KIND_BYTES:
      h->type = QPLUG_VALUE_BYTES;
      h->data = amqp_string_of(v.value.bytes);
      break;
    case AMQP_FIELD_KIND_VOID:
      h->type = QPLUG_VALUE_NULL;
      break;
    case AMQP_FIELD_KIND_DECIMAL:
      h->type = QPLUG_VALUE_DOUBLE;
      h->f64 = v.value.decimal.value;
      for (int i = 0; i < v.value.decimal.decimals; ++i) h->f64 /= 10;
      break;
    default:
      h->type = QPLUG_VALUE_STRING;
      h->data = v.kind == AMQP_FIELD_KIND_TABLE ? "<table>" : "<array>";
      break;
  }
}

bool amqp_has_header(const sdk::OwnedMessage& m, std::string_view key) {
  for (const auto& h : m.headers)
    if (h.key == key) return true;
  return false;
}

void amqp_add_string(sdk::OwnedMessage* m, const char* key, amqp_bytes_t value) {
  if (amqp_has_header(*m, key)) return;
  sdk::OwnedHeader h;
  h.key = key;
  h.type = QPLUG_VALUE_STRING;
  h.data = amqp_string_of(value);
  m->headers.push_back(std::move(h));
}

}  // namespace

void read_incoming(const amqp_message_t& in, bool redelivered, sdk::OwnedMessage* out) {
  const amqp_basic_properties_t& p = in.properties;
  out->id = (p._flags & AMQP_BASIC_MESSAGE_ID_FLAG) ? amqp_string_of(p.message_id) : std::string();
  out->content_type = (p._flags & AMQP_BASIC_CONTENT_TYPE_FLAG) ? amqp_string_of(p.content_type) : std::string();
  out->body = amqp_string_of(in.body);
  out->headers.clear();
  int64_t carried_attempts = 1;
  int64_t delivery_count = -1;
  if (p._flags & AMQP_BASIC_HEADERS_FLAG) {
    for (int i = 0; i < p.headers.num_entries; ++i) {
      const amqp_table_entry_t& e = p.headers.entries[i];
      std::string key = amqp_string_of(e.key);
      sdk::OwnedHeader h;
      amqp_header_from(key, e.value, &h);
      if (key == kAttemptsHeader) {
        if (h.type == QPLUG_VALUE_INT64 && h.i64 > 0) carried_attempts = h.i64;
        continue;
      }
      // `delay` was applied by the level queue: consumed, as on every driver,
      // so a message republished from its delivery is not delayed again.
      if (key == "delay") continue;
      // The broker's delivery counter (quorum queues) is consumed into
      // attempts like x-qplug-attempts: kept as a header, a NACK_REQUEUE copy
      // or a forwarded message would carry a stale count that the next
      // delivery adds again (tests/fuzz/corpus/amqp_headers_fuzz).
      if (key == "x-delivery-count" && h.type == QPLUG_VALUE_INT64) {
        delivery_count = h.i64;
        continue;
      }
      out->headers.push_back(std::move(h));
    }
  }
  if (p._flags & AMQP_BASIC_CORRELATION_ID_FLAG) amqp_add_string(out, "correlation_id", p.correlation_id);
  if (p._flags & AMQP_BASIC_REPLY_TO_FLAG) amqp_add_string(out, "reply_to", p.reply_to);
  if (p._flags & AMQP_BASIC_TYPE_FLAG) amqp_add_string(out, "message_type", p.type);
  if (p._flags & AMQP_BASIC_EXPIRATION_FLAG) amqp_add_string(out, "ttl", p.expiration);
  // Priority 5 is "normal", what a message without the header has (and what
  // the driver sets on a priority queue), so it adds no header.
  if ((p._flags & AMQP_BASIC_PRIORITY_FLAG) && p.priority != sdk::kDefaultPriority &&
      !amqp_has_header(*out, "priority")) {
    sdk::OwnedHeader h;
    h.key = "priority";
    h.type = QPLUG_VALUE_INT64;
    h.i64 = p.priority;
    out->headers.push_back(std::move(h));
  }
  // A table may repeat a key (a foreign publisher): the first one is the header.
  sdk::drop_repeated_headers(&out->headers);
  // Quorum queues count deliveries themselves; classic queues only say
  // "redelivered", which we count as one more attempt.
  // Both counts come from the wire: saturate at the largest attempt number
  // instead of overflowing (int64) or wrapping to 0 (uint32).
  const int64_t extra = delivery_count >= 0 ? delivery_count : (redelivered ? 1 : 0);
  constexpr int64_t kMaxAttempts = std::numeric_limits<uint32_t>::max();
  out->attempts =
      static_cast<uint32_t>(carried_attempts > kMaxAttempts - extra ? kMaxAttempts : carried_attempts + extra);
}

}  // namespace qplug::amqp
