// The msgpack codec: binary-safe strings, int/float preservation, hostile input.
#include <gtest/gtest.h>

#include <limits>
#include <qplug/codec.hpp>

namespace qplug {
namespace {

const Codec& mp() { return *find_codec("msgpack"); }

std::string encode_ok(const Value& v) {
  std::string out;
  Status st = mp().encode(v, &out);
  EXPECT_TRUE(st.ok()) << st.to_string();
  return out;
}

Value round_trip(const Value& v) {
  Result<Value> r = mp().decode(encode_ok(v), "application/msgpack");
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? r.value() : Value();
}

std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s.push_back(static_cast<char>(c));
  return s;
}

TEST(CodecMsgpackTest, FindCodecNames) {
  for (const char* name : {"msgpack", "application/msgpack"}) {
    ASSERT_NE(find_codec(name), nullptr) << name;
    EXPECT_EQ(find_codec(name)->name(), "msgpack");
    EXPECT_EQ(find_codec(name)->content_type(), "application/msgpack");
  }
}

TEST(CodecMsgpackTest, RoundTripKeepsTypes) {
  const Value v(Map{{"action", "send_email"},
                    {"user_id", 456},
                    {"max", std::numeric_limits<int64_t>::max()},
                    {"min", std::numeric_limits<int64_t>::min()},
                    {"ratio", 1.0},
                    {"flag", true},
                    {"none", nullptr},
                    {"binary", std::string("\x00\xFF\xFE\x01", 4)},
                    {"list", Array{1, "two", 2.5, Array{}, Map{}}}});
  const Value back = round_trip(v);
  EXPECT_EQ(back, v);
  EXPECT_TRUE(back.find("ratio")->is_double());
  EXPECT_TRUE(back.find("user_id")->is_int());
  EXPECT_EQ(back.find("binary")->as_string().size(), 4u);
}

TEST(CodecMsgpackTest, NonFiniteFloatsSurvive) {
  const Value back = round_trip(std::numeric_limits<double>::infinity());
  ASSERT_TRUE(back.is_double());
  EXPECT_EQ(back.as_double(), std::numeric_limits<double>::infinity());
}

TEST(CodecMsgpackTest, DecodesForeignForms) {
  // float32 1.5, bin8 "ab", uint64 max (-> double), positive fixint.
  EXPECT_EQ(mp().decode(bytes({0xca, 0x3f, 0xc0, 0x00, 0x00}), "").value(), Value(1.5));
  EXPECT_EQ(mp().decode(bytes({0xc4, 0x02, 'a', 'b'}), "").value(), Value("ab"));
  EXPECT_TRUE(mp().decode(bytes({0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}), "").value().is_double());
  EXPECT_EQ(mp().decode(bytes({0x05}), "").value(), Value(5));
}

TEST(CodecMsgpackTest, DepthLimit) {
  Value v = 1;
  for (int i = 0; i < kMaxValueDepth; ++i) v = Array{v};
  EXPECT_EQ(round_trip(v), v);
  std::string out;
  EXPECT_EQ(mp().encode(Array{v}, &out).kind(), ErrorKind::INVALID);
  EXPECT_TRUE(out.empty()) << "a failed encode leaves nothing behind";
  const std::string deep(10000, static_cast<char>(0x91));  // fixarray(1) nested 10000 times
  Result<Value> r = mp().decode(deep + bytes({0x01}), "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().kind(), ErrorKind::INVALID);
}

TEST(CodecMsgpackTest, HostileInputIsInvalid) {
  const std::string rows[] = {
      "",
      bytes({0xdd, 0xff, 0xff, 0xff, 0xff}),       // array32 claiming 4G elements
      bytes({0xdf, 0xff, 0xff, 0xff, 0xff}),       // map32 claiming 4G entries
      bytes({0xdb, 0xff, 0xff, 0xff, 0xff, 'a'}),  // str32 claiming 4G bytes
      bytes({0xc6, 0x7f, 0xff, 0xff, 0xff}),       // bin32 claiming 2G bytes
      bytes({0x92, 0x01}),                         // truncated array
      bytes({0x01, 0x02}),                         // trailing bytes
      bytes({0xc1}),                               // never-used byte
      bytes({0x81, 0x01, 0x02}),                   // int map key
      bytes({0xd4, 0x01, 0x02}),                   // fixext1
  };
  for (const std::string& body : rows) {
    Result<Value> r = mp().decode(body, "application/msgpack");
    EXPECT_FALSE(r.ok()) << "body of " << body.size() << " bytes";
    if (!r.ok()) {
      EXPECT_EQ(r.status().kind(), ErrorKind::INVALID);
    }
  }
}

TEST(CodecMsgpackTest, DuplicateKeysLastWins) {
  Result<Value> r = mp().decode(bytes({0x82, 0xa1, 'a', 0x01, 0xa1, 'a', 0x02}), "");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.value().as_map().size(), 1u);
  EXPECT_EQ(r.value().find("a")->as_int(), 2);
}

}  // namespace
}  // namespace qplug
