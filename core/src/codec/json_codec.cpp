// The JSON codec (content type application/json), built on RapidJSON.
//
// - Integers stay int64; numbers with a fraction or exponent are doubles and are
//   written so they read back as doubles (1.0 -> "1.0"). Unsigned integers above
//   INT64_MAX decode as doubles (JSON has one number type; int64 is ours).
// - NaN and infinities have no JSON form: encode returns INVALID.
// - Strings must be valid UTF-8 both ways (INVALID otherwise): JSON cannot carry
//   raw bytes, use the msgpack codec for binary payloads.
// - Arrays/maps nest at most kMaxValueDepth deep (INVALID beyond).
// - A message whose content type is text/plain (the json/plain convention) decodes
//   as one string Value holding the body verbatim.
// - Duplicate object keys: the last one wins (Map keys are unique).
#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "codec/builtin_codecs.hpp"

namespace qplug::codec {
namespace {

// Lets the writer append straight into the caller's string (no intermediate
// StringBuffer allocation and copy per message).
class JsonStringSink {
 public:
  using Ch = char;
  explicit JsonStringSink(std::string* out) : out_(out) {}
  void Put(char c) { out_->push_back(c); }
  void Append(const char* s, size_t n) { out_->append(s, n); }
  void Flush() {}

 private:
  std::string* out_;
};

// No kWriteValidateEncodingFlag: RapidJSON 1.1's validator reads up to two bytes
// past the end of a string that ends inside a multi-byte sequence (found by
// tests/fuzz under ASan). We validate with json_valid_utf8() before writing.
// Bytes of `v` that are zero, flagged in their high bit (exact for "any").
constexpr uint64_t json_zero_bytes(uint64_t v) { return (v - 0x0101010101010101ull) & ~v & 0x8080808080808080ull; }

// True if `s` holds a byte JSON must escape (a control character, '"' or
// '\\'), eight bytes at a time: most strings are clean and long enough.
bool json_needs_escape(const char* s, size_t len) {
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t w;
    std::memcpy(&w, s + i, 8);
    const uint64_t control = (w - 0x2020202020202020ull) & ~w & 0x8080808080808080ull;  // a byte < 0x20
    if ((control | json_zero_bytes(w ^ 0x2222222222222222ull) | json_zero_bytes(w ^ 0x5C5C5C5C5C5C5C5Cull)) != 0)
      return true;
  }
  for (; i < len; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == '"' || c == '\\') return true;
  }
  return false;
}

// RapidJSON's writer emits every string one character at a time through the
// sink (a push_back each, ~15% of a Lua publish). A string that needs no
// escaping goes in with one append instead, after the writer's own Prefix()
// bookkeeping (commas, colons), so the output is byte-identical.
class JsonWriter : public rapidjson::Writer<JsonStringSink> {
 public:
  using Base = rapidjson::Writer<JsonStringSink>;
  using Base::Base;
  bool String(const char* s, rapidjson::SizeType n) {
    if (json_needs_escape(s, n)) return Base::String(s, n);
    Prefix(rapidjson::kStringType);
    os_->Put('"');
    os_->Append(s, n);
    os_->Put('"');
    return EndValue(true);
  }
  bool Key(const char* s, rapidjson::SizeType n) { return String(s, n); }
};

bool json_valid_utf8(const char* s, size_t len);

Status json_write(const Value& v, JsonWriter& w, int depth) {
  struct Visitor {
    JsonWriter& w;
    int depth;
    Status operator()(std::monostate) { return w.Null() ? ok_status() : internal_error("JSON writer failed"); }
    Status operator()(bool b) { return w.Bool(b) ? ok_status() : internal_error("JSON writer failed"); }
    Status operator()(int64_t i) { return w.Int64(i) ? ok_status() : internal_error("JSON writer failed"); }
    Status operator()(double d) {
      if (!std::isfinite(d)) return invalid_error("JSON cannot encode NaN or infinity");
      return w.Double(d) ? ok_status() : internal_error("JSON writer failed");
    }
    Status operator()(const std::string& s) {
      if (!json_valid_utf8(s.data(), s.size())) {
        return invalid_error("JSON strings must be valid UTF-8 (use the msgpack codec for binary data)");
      }
      return w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())) ? ok_status()
                                                                            : internal_error("JSON writer failed");
    }
    Status operator()(const Array& a) {
      if (depth >= kMaxValueDepth) return invalid_error("value nests deeper than 64 levels");
      w.StartArray();
      for (const Value& e : a) {
        Status st = json_write(e, w, depth + 1);
        if (!st.ok()) return st;
      }
      w.EndArray();
      return ok_status();
    }
    Status operator()(const Map& m) {
      if (depth >= kMaxValueDepth) return invalid_error("value nests deeper than 64 levels");
      w.StartObject();
      for (const auto& [k, e] : m) {
        if (!json_valid_utf8(k.data(), k.size())) return invalid_error("JSON object keys must be valid UTF-8");
        w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
        Status st = json_write(e, w, depth + 1);
        if (!st.ok()) return st;
      }
      w.EndObject();
      return ok_status();
    }
  };
  return std::visit(Visitor{w, depth}, v.storage());
}

// Strict UTF-8 check (no overlongs, no surrogates, <= U+10FFFF). RapidJSON 1.1
// turns a lone "\udc00" escape into surrogate bytes, which no one can re-encode.
bool json_valid_utf8(const char* s, size_t len) {
  const auto* p = reinterpret_cast<const unsigned char*>(s);
  // All-ASCII is the common case: OR the bytes together, eight at a time.
  uint64_t any_high = 0;
  size_t k = 0;
  for (; k + 8 <= len; k += 8) {
    uint64_t w;
    std::memcpy(&w, p + k, 8);
    any_high |= w;
  }
  for (; k < len; ++k) any_high |= p[k];
  if ((any_high & 0x8080808080808080ull) == 0) return true;
  size_t i = 0;
  while (i < len) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n = 0;
    uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (len - i <= n) return false;
    for (size_t k = 1; k <= n; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

// SAX handler that builds a Value with an explicit stack (no recursion, so a
// hostile document cannot exhaust the C++ stack).
class JsonValueBuilder : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, JsonValueBuilder> {
 public:
  bool Null() { return add(Value()); }
  bool Bool(bool b) { return add(Value(b)); }
  // Numbers arrive as text (kParseNumbersAsStringsFlag) and are converted with
  // std::from_chars: exact, and it avoids RapidJSON 1.1's full-precision strtod,
  // which hits undefined behaviour (clz(0)) on some long literals (found by fuzzing).
  // Integers stay int64; an integer literal outside int64 is refused (a
  // double would silently change it: 2^64+1 cannot be told from 2^64); a
  // literal with '.', 'e' or 'E' is a double.
  bool RawNumber(const char* s, rapidjson::SizeType len, bool) {
    const char* end = s + len;
    if (std::find_if(s, end, [](char c) { return c == '.' || c == 'e' || c == 'E'; }) == end) {
      int64_t i = 0;
      auto [p, ec] = std::from_chars(s, end, i);
      if (ec == std::errc() && p == end) return add(Value(i));
      big_integer_.assign(s, std::min<size_t>(len, 40));
      return false;
    }
    double d = 0;
    auto [p, ec] = std::from_chars(s, end, d);
    if (ec != std::errc() || p != end || !std::isfinite(d)) {
      out_of_range_ = true;
      return false;
    }
    return add(Value(d));
  }
  bool String(const char* s, rapidjson::SizeType len, bool) {
    if (!json_valid_utf8(s, len)) return bad_utf8();
    return add(Value(std::string(s, len)));
  }
  bool Key(const char* s, rapidjson::SizeType len, bool) {
    if (!json_valid_utf8(s, len)) return bad_utf8();
    stack_.back().key.assign(s, len);
    return true;
  }
  bool StartObject() { return push(true); }
  bool EndObject(rapidjson::SizeType) { return pop(); }
  bool StartArray() { return push(false); }
  bool EndArray(rapidjson::SizeType) { return pop(); }

  bool too_deep() const { return too_deep_; }
  bool out_of_range() const { return out_of_range_; }
  const std::string& big_integer() const { return big_integer_; }
  bool invalid_utf8() const { return invalid_utf8_; }
  Value take() { return std::move(root_); }

 private:
  struct Frame {
    Value container;
    std::string key;
  };

  bool bad_utf8() {
    invalid_utf8_ = true;
    return false;
  }
  bool push(bool is_map) {
    if (static_cast<int>(stack_.size()) >= kMaxValueDepth) {
      too_deep_ = true;
      return false;
    }
    stack_.push_back(Frame{is_map ? Value(Map{}) : Value(Array{}), {}});
    return true;
  }
  bool pop() {
    Value done = std::move(stack_.back().container);
    stack_.pop_back();
    return add(std::move(done));
  }
  bool add(Value v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return true;
    }
    Frame& top = stack_.back();
    if (top.container.is_array()) {
      top.container.as_array().push_back(std::move(v));
      return true;
    }
    Map& m = top.container.as_map();
    for (auto& [k, existing] : m) {
      if (k == top.key) {
        existing = std::move(v);
        return true;
      }
    }
    m.emplace_back(std::move(top.key), std::move(v));
    return true;
  }

  std::vector<Frame> stack_;
  Value root_;
  bool too_deep_ = false;
  bool out_of_range_ = false;
  std::string big_integer_;  // the integer literal outside int64 (first 40 characters)
  bool invalid_utf8_ = false;
};

// "text/plain" or "text/plain; charset=utf-8".
bool json_is_plain_text(std::string_view content_type) {
  constexpr std::string_view kPlain = "text/plain";
  if (content_type.substr(0, kPlain.size()) != kPlain) return false;
  return content_type.size() == kPlain.size() || content_type[kPlain.size()] == ';' ||
         content_type[kPlain.size()] == ' ';
}

// A StringStream over a length-delimited buffer (RapidJSON's own one stops at NUL,
// which would silently ignore the rest of a body).
class JsonSpanStream {
 public:
  using Ch = char;
  explicit JsonSpanStream(std::string_view s) : p_(s.data()), begin_(s.data()), end_(s.data() + s.size()) {}
  Ch Peek() const { return p_ == end_ ? '\0' : *p_; }
  Ch Take() { return p_ == end_ ? '\0' : *p_++; }
  size_t Tell() const { return static_cast<size_t>(p_ - begin_); }
  bool at_end() const { return p_ == end_; }
  Ch* PutBegin() { return nullptr; }
  void Put(Ch) {}
  void Flush() {}
  size_t PutEnd(Ch*) { return 0; }

 private:
  const char* p_;
  const char* begin_;
  const char* end_;
};

class JsonCodec final : public Codec {
 public:
  std::string_view name() const override { return "json"; }
  std::string_view content_type() const override { return "application/json"; }

  Status encode(const Value& v, std::string* out) const override {
    const size_t before = out->size();
    JsonStringSink sink(out);
    // Writer and Reader keep an internal stack they allocate on first use;
    // one per thread, reset per message, keeps the hot path malloc-free.
    thread_local JsonStringSink idle_sink(nullptr);
    thread_local JsonWriter writer(idle_sink);
    writer.Reset(sink);
    Status st = json_write(v, writer, 0);
    writer.Reset(idle_sink);            // drop the pointer to this call's sink
    if (!st.ok()) out->resize(before);  // never leave half a document behind
    return st;
  }

  Result<Value> decode(std::string_view body, std::string_view content_type) const override {
    if (json_is_plain_text(content_type)) return Value(std::string(body));
    JsonSpanStream stream(body);
    JsonValueBuilder builder;
    thread_local rapidjson::Reader reader;
    constexpr unsigned kFlags =
        rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag | rapidjson::kParseNumbersAsStringsFlag;
    rapidjson::ParseResult r = reader.Parse<kFlags>(stream, builder);
    if (builder.too_deep()) return invalid_error("JSON body nests deeper than 64 levels");
    if (builder.invalid_utf8()) {
      return invalid_error("JSON body has a string that is not valid UTF-8 (lone surrogate escape?) near offset " +
                           std::to_string(r.Offset()));
    }
    if (!builder.big_integer().empty()) {
      return invalid_error("JSON body has the integer " + builder.big_integer() +
                           " outside the 64-bit range (-2^63 .. 2^63-1) at offset " + std::to_string(r.Offset()) +
                           "; send it as a string, or as a float (with a '.' or an exponent) if rounding is fine");
    }
    if (builder.out_of_range()) {
      return invalid_error("JSON body has a number out of double range at offset " + std::to_string(r.Offset()));
    }
    if (r.IsError()) {
      return invalid_error("JSON body is malformed at offset " + std::to_string(r.Offset()) + ": " +
                           rapidjson::GetParseError_En(r.Code()));
    }
    // The stream reports NUL at its end, so a body with an embedded NUL after the
    // document would otherwise parse "successfully".
    if (!stream.at_end()) {
      return invalid_error("JSON body has trailing data at offset " + std::to_string(stream.Tell()));
    }
    return builder.take();
  }
};

}  // namespace

const Codec& json_codec() {
  static const JsonCodec codec;
  return codec;
}

}  // namespace qplug::codec
