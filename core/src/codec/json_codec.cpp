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
#include "codec/builtin_codecs.hpp"

#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cmath>
#include <limits>

namespace qplug::codec {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer, rapidjson::UTF8<>, rapidjson::UTF8<>,
                                     rapidjson::CrtAllocator, rapidjson::kWriteValidateEncodingFlag>;

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
      if (!w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()))) {
        return invalid_error("JSON strings must be valid UTF-8 (use the msgpack codec for binary data)");
      }
      return ok_status();
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
        if (!w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()))) {
          return invalid_error("JSON object keys must be valid UTF-8");
        }
        Status st = json_write(e, w, depth + 1);
        if (!st.ok()) return st;
      }
      w.EndObject();
      return ok_status();
    }
  };
  return std::visit(Visitor{w, depth}, v.storage());
}

// SAX handler that builds a Value with an explicit stack (no recursion, so a
// hostile document cannot exhaust the C++ stack).
class JsonValueBuilder : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, JsonValueBuilder> {
 public:
  bool Null() { return add(Value()); }
  bool Bool(bool b) { return add(Value(b)); }
  bool Int(int i) { return add(Value(static_cast<int64_t>(i))); }
  bool Uint(unsigned u) { return add(Value(static_cast<int64_t>(u))); }
  bool Int64(int64_t i) { return add(Value(i)); }
  bool Uint64(uint64_t u) {
    if (u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return add(Value(static_cast<int64_t>(u)));
    return add(Value(static_cast<double>(u)));
  }
  bool Double(double d) { return add(Value(d)); }
  bool RawNumber(const char*, rapidjson::SizeType, bool) { return false; }
  bool String(const char* s, rapidjson::SizeType len, bool) { return add(Value(std::string(s, len))); }
  bool Key(const char* s, rapidjson::SizeType len, bool) {
    stack_.back().key.assign(s, len);
    return true;
  }
  bool StartObject() { return push(true); }
  bool EndObject(rapidjson::SizeType) { return pop(); }
  bool StartArray() { return push(false); }
  bool EndArray(rapidjson::SizeType) { return pop(); }

  bool too_deep() const { return too_deep_; }
  Value take() { return std::move(root_); }

 private:
  struct Frame {
    Value container;
    std::string key;
  };

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
    rapidjson::StringBuffer buffer;
    JsonWriter writer(buffer);
    Status st = json_write(v, writer, 0);
    if (!st.ok()) return st;
    out->append(buffer.GetString(), buffer.GetSize());
    return ok_status();
  }

  Result<Value> decode(std::string_view body, std::string_view content_type) const override {
    if (json_is_plain_text(content_type)) return Value(std::string(body));
    JsonSpanStream stream(body);
    JsonValueBuilder builder;
    rapidjson::Reader reader;
    constexpr unsigned kFlags =
        rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag | rapidjson::kParseFullPrecisionFlag;
    rapidjson::ParseResult r = reader.Parse<kFlags>(stream, builder);
    if (builder.too_deep()) return invalid_error("JSON body nests deeper than 64 levels");
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
