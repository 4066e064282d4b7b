// qplug/sdk/message.hpp -- an owned deep copy of a qplug_message.
//
// publish() spans are borrowed for the call only, so every driver that keeps
// a message (buffers, pipelines, memory queues) copies it. OwnedMessage holds
// the copy in one allocation-friendly layout and re-exposes it as a
// qplug_message view whose spans stay valid as long as the OwnedMessage lives
// (and it is not moved after view() was taken... moves keep string buffers
// only for heap-allocated strings, so call view() again after a move).
#pragma once

#include <qplug/driver.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace qplug::sdk {

struct OwnedHeader {
  std::string key;
  int32_t type = QPLUG_VALUE_NULL;
  int64_t i64 = 0;  // BOOL and INT64
  double f64 = 0;
  std::string data;  // STRING and BYTES
};

// The borrowed ABI view of an owned header value, valid while `oh` is
// unchanged: what the SDK's value readers (schedule_headers.hpp) take.
inline qplug_value value_view(const OwnedHeader& oh) {
  qplug_value v{};
  v.type = oh.type;
  switch (oh.type) {
    case QPLUG_VALUE_BOOL:
      v.as.boolean = oh.i64 != 0;
      break;
    case QPLUG_VALUE_INT64:
      v.as.i64 = oh.i64;
      break;
    case QPLUG_VALUE_DOUBLE:
      v.as.f64 = oh.f64;
      break;
    case QPLUG_VALUE_STRING:
      v.as.str = {oh.data.data(), oh.data.size()};
      break;
    case QPLUG_VALUE_BYTES:
      v.as.bytes = {reinterpret_cast<const uint8_t*>(oh.data.data()), oh.data.size()};
      break;
    default:
      break;
  }
  return v;
}

class OwnedMessage {
 public:
  OwnedMessage() = default;
  explicit OwnedMessage(const qplug_message& m) { assign(m); }

  void assign(const qplug_message& m) {
    id.assign(m.id.ptr == nullptr ? "" : std::string_view(m.id.ptr, m.id.len));
    content_type.assign(m.content_type.ptr == nullptr ? "" : std::string_view(m.content_type.ptr, m.content_type.len));
    body.assign(m.body.ptr == nullptr ? "" : std::string_view(reinterpret_cast<const char*>(m.body.ptr), m.body.len));
    headers.clear();
    headers.reserve(m.header_count);
    for (size_t i = 0; i < m.header_count; ++i) {
      const qplug_header& h = m.headers[i];
      OwnedHeader oh;
      oh.key.assign(h.key.ptr == nullptr ? "" : std::string_view(h.key.ptr, h.key.len));
      oh.type = h.value.type;
      switch (h.value.type) {
        case QPLUG_VALUE_BOOL:
          oh.i64 = h.value.as.boolean ? 1 : 0;
          break;
        case QPLUG_VALUE_INT64:
          oh.i64 = h.value.as.i64;
          break;
        case QPLUG_VALUE_DOUBLE:
          oh.f64 = h.value.as.f64;
          break;
        case QPLUG_VALUE_STRING:
          oh.data.assign(h.value.as.str.ptr == nullptr ? "" : std::string_view(h.value.as.str.ptr, h.value.as.str.len));
          break;
        case QPLUG_VALUE_BYTES:
          oh.data.assign(
              h.value.as.bytes.ptr == nullptr
                  ? ""
                  : std::string_view(reinterpret_cast<const char*>(h.value.as.bytes.ptr), h.value.as.bytes.len));
          break;
        default:
          oh.type = QPLUG_VALUE_NULL;
          break;
      }
      headers.push_back(std::move(oh));
    }
    attempts = m.attempts;
  }

  // Rebuilds the borrowed view. Valid until this object is modified or destroyed.
  const qplug_message& view() {
    header_views_.resize(headers.size());
    for (size_t i = 0; i < headers.size(); ++i) {
      const OwnedHeader& oh = headers[i];
      qplug_header& h = header_views_[i];
      h.key = {oh.key.data(), oh.key.size()};
      h.value = value_view(oh);
    }
    view_ = qplug_message{};
    view_.struct_size = sizeof(qplug_message);
    view_.abi_major = QPLUG_ABI_MAJOR;
    view_.abi_minor = QPLUG_ABI_MINOR;
    view_.id = {id.data(), id.size()};
    view_.content_type = {content_type.data(), content_type.size()};
    view_.body = {reinterpret_cast<const uint8_t*>(body.data()), body.size()};
    view_.headers = header_views_.empty() ? nullptr : header_views_.data();
    view_.header_count = header_views_.size();
    view_.attempts = attempts;
    return view_;
  }

  std::string id;
  std::string content_type;
  std::string body;
  std::vector<OwnedHeader> headers;
  uint32_t attempts = 0;

 private:
  std::vector<qplug_header> header_views_;
  qplug_message view_{};
};

// Reads a field of a versioned struct only if the writer's struct_size covers it.
#define QPLUG_SDK_HAS_FIELD(ptr, type, field) \
  ((ptr) != nullptr && (ptr)->struct_size >= offsetof(type, field) + sizeof(((type*)0)->field))

// Keeps the first header of each key and drops the later repeats; returns
// how many were dropped. A publish through qplug never repeats a key
// (validate.hpp refuses it), but a foreign publisher can: an AMQP table or
// MQTT user properties may carry a key twice, or a header beside the native
// property of the same name. Decoders call this last, so a delivered message
// is a map, as handlers read it, and a requeue or forward of it sends the
// same headers again (tests/fuzz/corpus/amqp_headers_fuzz/regress-*).
inline size_t drop_repeated_headers(std::vector<OwnedHeader>* headers) {
  std::vector<OwnedHeader>& h = *headers;
  const size_t n = h.size();
  auto compact = [&](auto&& is_repeat) {
    size_t kept = 0;
    for (size_t i = 0; i < n; ++i) {
      if (is_repeat(i)) continue;
      if (kept != i) h[kept] = std::move(h[i]);
      ++kept;
    }
    h.resize(kept);
    return n - kept;
  };
  // The usual handful: pairwise, no allocation. Indexes are compared before
  // anything moves, so the mask is computed first.
  if (n <= 64) {
    uint64_t repeat = 0;
    for (size_t j = 1; j < n; ++j)
      for (size_t i = 0; i < j; ++i)
        if (!(repeat >> i & 1) && h[i].key == h[j].key) {
          repeat |= uint64_t{1} << j;
          break;
        }
    if (repeat == 0) return 0;
    return compact([&](size_t i) { return (repeat >> i & 1) != 0; });
  }
  // A table of thousands of entries (a 128 KB frame holds tens of thousands)
  // must not cost millions of comparisons.
  std::vector<bool> repeat(n, false);
  std::unordered_set<std::string_view> seen;
  seen.reserve(n);
  bool any = false;
  for (size_t i = 0; i < n; ++i)
    if (!seen.insert(h[i].key).second) repeat[i] = any = true;
  if (!any) return 0;
  seen.clear();  // its views point into keys that compact() moves
  return compact([&](size_t i) { return repeat[i]; });
}

}  // namespace qplug::sdk
