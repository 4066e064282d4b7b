// The JSON codec: type preservation, text/plain bodies, limits and bad input.
#include <gtest/gtest.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cmath>
#include <limits>
#include <qplug/codec.hpp>

namespace qplug {
namespace {

const Codec& json() { return *find_codec("json"); }

std::string encode_ok(const Value& v) {
  std::string out;
  Status st = json().encode(v, &out);
  EXPECT_TRUE(st.ok()) << st.to_string();
  return out;
}

Value decode_ok(std::string_view body, std::string_view ct = "application/json") {
  Result<Value> r = json().decode(body, ct);
  EXPECT_TRUE(r.ok()) << r.status().to_string() << " for " << body;
  return r.ok() ? r.value() : Value();
}

Value nest(int depth) {
  Value v = 1;
  for (int i = 0; i < depth; ++i) v = Array{v};
  return v;
}

TEST(CodecJsonTest, FindCodecNames) {
  for (const char* name : {"json", "json/plain", "application/json"}) {
    ASSERT_NE(find_codec(name), nullptr) << name;
    EXPECT_EQ(find_codec(name)->name(), "json");
    EXPECT_EQ(find_codec(name)->content_type(), "application/json");
  }
  EXPECT_EQ(find_codec("xml"), nullptr);
  EXPECT_EQ(find_codec(""), nullptr);
}

TEST(CodecJsonTest, EncodesScalars) {
  EXPECT_EQ(encode_ok(Value()), "null");
  EXPECT_EQ(encode_ok(true), "true");
  EXPECT_EQ(encode_ok(int64_t{-42}), "-42");
  EXPECT_EQ(encode_ok(1.0), "1.0");
  EXPECT_EQ(encode_ok(0.5), "0.5");
  EXPECT_EQ(encode_ok("hello"), "\"hello\"");
  EXPECT_EQ(encode_ok(std::string("a\0b", 3)), "\"a\\u0000b\"");
}

TEST(CodecJsonTest, EncodeAppends) {
  std::string out = "prefix:";
  ASSERT_TRUE(json().encode(Value(Map{{"a", 1}}), &out).ok());
  EXPECT_EQ(out, "prefix:{\"a\":1}");
}

TEST(CodecJsonTest, RoundTripKeepsTypes) {
  const Value v(Map{{"action", "send_email"},
                    {"user_id", 456},
                    {"big", std::numeric_limits<int64_t>::max()},
                    {"neg", std::numeric_limits<int64_t>::min()},
                    {"ratio", 1.0},
                    {"pi", 3.141592653589793},
                    {"tiny", 5e-324},
                    {"flag", false},
                    {"none", nullptr},
                    {"list", Array{1, "two", 3.5, Array{}, Map{}}},
                    {"unicode", "h\xC3\xA9llo \xE2\x82\xAC"}});
  const std::string body = encode_ok(v);
  EXPECT_EQ(decode_ok(body), v) << body;
  EXPECT_TRUE(decode_ok(body).find("ratio")->is_double());
  EXPECT_TRUE(decode_ok(body).find("user_id")->is_int());
}

TEST(CodecJsonTest, DecodesNumbers) {
  EXPECT_TRUE(decode_ok("7").is_int());
  EXPECT_TRUE(decode_ok("7.0").is_double());
  EXPECT_TRUE(decode_ok("7e2").is_double());
  EXPECT_EQ(decode_ok("-9223372036854775808").as_int(), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(decode_ok("9223372036854775807").as_int(), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(decode_ok("0.1").as_double(), 0.1);
  // Found by fuzzing: long literals once hit UB in RapidJSON's strtod.
  EXPECT_EQ(decode_ok("18446744073709551615961.0").as_double(), 18446744073709551615961.0);
  EXPECT_EQ(decode_ok("1.8446744073709552e19").as_double(), 18446744073709551616.0);
  EXPECT_EQ(decode_ok("2.2250738585072011e-308").as_double(), 2.2250738585072011e-308);
  EXPECT_EQ(decode_ok("-0").as_int(), 0);
}

// Issue 11: an integer above int64 once became a double silently (2^64+1
// arrived as 18446744073709551616). It is refused, naming the number.
TEST(CodecJsonTest, IntegerOutsideInt64IsInvalid) {
  for (const char* body : {"18446744073709551615", "9223372036854775808", "-9223372036854775809",
                           "{\"id\": 18446744073709551617}", "[1, 99999999999999999999999]"}) {
    SCOPED_TRACE(body);
    auto r = find_codec("json")->decode(body, "application/json");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().kind(), ErrorKind::INVALID);
    EXPECT_NE(r.status().message().find("outside the 64-bit range"), std::string::npos) << r.status().message();
  }
}

TEST(CodecJsonTest, NonFiniteIsInvalid) {
  for (double d : {std::nan(""), std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()}) {
    std::string out;
    Status st = json().encode(Value(Map{{"x", d}}), &out);
    EXPECT_EQ(st.kind(), ErrorKind::INVALID);
  }
}

TEST(CodecJsonTest, InvalidUtf8IsRejectedBothWays) {
  std::string out;
  EXPECT_EQ(json().encode(Value("bad \xFF byte"), &out).kind(), ErrorKind::INVALID);
  EXPECT_EQ(json().encode(Value(Map{{"bad\xC0", 1}}), &out).kind(), ErrorKind::INVALID);
  EXPECT_EQ(json().decode("\"bad \xFF\"", "application/json").status().kind(), ErrorKind::INVALID);
  // Escapes: a valid pair decodes, a lone surrogate is INVALID (it has no UTF-8 form).
  EXPECT_EQ(decode_ok("\"\\ud83d\\ude00\""), Value("\xF0\x9F\x98\x80"));
  EXPECT_EQ(json().decode("\"x\\ude00\"", "").status().kind(), ErrorKind::INVALID);
  EXPECT_EQ(json().decode("{\"\\udc00\":1}", "").status().kind(), ErrorKind::INVALID);
}

TEST(CodecJsonTest, DepthLimit) {
  std::string out;
  EXPECT_TRUE(json().encode(nest(kMaxValueDepth), &out).ok());
  EXPECT_EQ(json().encode(nest(kMaxValueDepth + 1), &out).kind(), ErrorKind::INVALID);
  const std::string ok_body = std::string(kMaxValueDepth, '[') + std::string(kMaxValueDepth, ']');
  EXPECT_TRUE(json().decode(ok_body, "").ok());
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  Result<Value> r = json().decode(deep, "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().kind(), ErrorKind::INVALID);
  EXPECT_NE(r.status().message().find("deeper"), std::string::npos);
}

TEST(CodecJsonTest, PlainTextBodiesDecodeAsStrings) {
  EXPECT_EQ(decode_ok("hello world", "text/plain"), Value("hello world"));
  EXPECT_EQ(decode_ok("{not json", "text/plain; charset=utf-8"), Value("{not json"));
  EXPECT_EQ(decode_ok("", "text/plain"), Value(""));
  // Not text/plain: must be JSON.
  EXPECT_FALSE(json().decode("hello", "text/plainish").ok());
  EXPECT_FALSE(json().decode("hello", "application/json").ok());
}

TEST(CodecJsonTest, MalformedBodiesAreInvalid) {
  for (std::string_view body : {"", "   ", "{", "[1,", "{\"a\"}", "nul", "1 2", "{\"a\":1}x", "[1]]", "'x'", "1e99999",
                                "1.799623157e308", "-1.8e308", "NaN", "Infinity"}) {
    Result<Value> r = json().decode(body, "application/json");
    EXPECT_FALSE(r.ok()) << body;
    if (!r.ok()) {
      EXPECT_EQ(r.status().kind(), ErrorKind::INVALID) << body;
    }
  }
  // Embedded NUL after a complete document is trailing data, not the end.
  EXPECT_FALSE(json().decode(std::string_view("1\0garbage", 9), "").ok());
}

TEST(CodecJsonTest, DuplicateKeysLastWins) {
  Value v = decode_ok("{\"a\":1,\"b\":2,\"a\":3}");
  ASSERT_TRUE(v.is_map());
  EXPECT_EQ(v.as_map().size(), 2u);
  EXPECT_EQ(v.find("a")->as_int(), 3);
}

TEST(CodecJsonTest, EscapesRoundTrip) {
  const Value v("quote\" backslash\\ newline\n tab\t ctrl\x01");
  EXPECT_EQ(decode_ok(encode_ok(v)), v);
}

// Clean strings skip RapidJSON's per-character writer (checked 8 bytes at a
// time). Every special byte at every position of a word and of the tail must
// still be escaped exactly as RapidJSON escapes it: compare byte for byte
// with RapidJSON's own writer, as a value, as a key and inside an array.
TEST(CodecJsonTest, StringsAreWrittenExactlyAsRapidJsonWritesThem) {
  const std::string specials[] = {"\"", "\\", "\n", "\x01",     "\x1f", "\x7f", " ",    "!",
                                  "#",  "[",  "]",  "\xc3\xa9", "/",    "\x21", "\x5b", "\x5d"};
  for (size_t len = 0; len <= 19; ++len) {
    for (const std::string& sp : specials) {
      for (size_t pos = 0; pos <= len; ++pos) {
        std::string str(len, 'a');
        str.insert(pos, sp);
        rapidjson::StringBuffer ref_buf;
        rapidjson::Writer<rapidjson::StringBuffer> ref(ref_buf);
        ref.StartObject();
        ref.Key(str.data(), static_cast<rapidjson::SizeType>(str.size()));
        ref.StartArray();
        ref.String(str.data(), static_cast<rapidjson::SizeType>(str.size()));
        ref.String("x", 1);
        ref.EndArray();
        ref.EndObject();
        const Value v(Map{{str, Value(Array{Value(str), Value("x")})}});
        ASSERT_EQ(encode_ok(v), std::string(ref_buf.GetString(), ref_buf.GetSize()))
            << "length " << len << ", special byte(s) " << sp.size() << " at " << pos;
        ASSERT_EQ(decode_ok(encode_ok(v)), v);
      }
    }
    // Invalid UTF-8 anywhere (in a word or the tail) is still refused.
    for (size_t pos = 0; pos <= len; ++pos) {
      std::string bad(len, 'a');
      bad.insert(pos, 1, '\xff');
      std::string out;
      EXPECT_EQ(json().encode(Value(bad), &out).kind(), ErrorKind::INVALID) << "length " << len << ", at " << pos;
    }
  }
}

}  // namespace
}  // namespace qplug
