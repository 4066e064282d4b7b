// message.hpp: OwnedMessage, the deep copy of a borrowed qplug_message every
// driver that keeps a message makes, and QPLUG_SDK_HAS_FIELD.
#include <gtest/gtest.h>

#include <memory>
#include <qplug/sdk/message.hpp>
#include <string>
#include <utility>
#include <vector>

using qplug::sdk::OwnedMessage;

namespace {

qplug_str str(const std::string& s) { return {s.data(), s.size()}; }

// A borrowed message with one header of every type, all in caller buffers.
struct Borrowed {
  std::string id = "id-1", ct = "application/json", body = std::string("b\0dy", 4);
  std::string s = "text", raw = std::string("\x00\xff", 2);
  std::string keys[6] = {"n", "b", "i", "d", "s", "raw"};
  qplug_header headers[6]{};
  qplug_message m{};
  Borrowed() {
    for (int i = 0; i < 6; ++i) headers[i].key = str(keys[i]);
    headers[0].value.type = QPLUG_VALUE_NULL;
    headers[1].value.type = QPLUG_VALUE_BOOL;
    headers[1].value.as.boolean = 1;
    headers[2].value.type = QPLUG_VALUE_INT64;
    headers[2].value.as.i64 = -42;
    headers[3].value.type = QPLUG_VALUE_DOUBLE;
    headers[3].value.as.f64 = 2.5;
    headers[4].value.type = QPLUG_VALUE_STRING;
    headers[4].value.as.str = str(s);
    headers[5].value.type = QPLUG_VALUE_BYTES;
    headers[5].value.as.bytes = {reinterpret_cast<const uint8_t*>(raw.data()), raw.size()};
    m.struct_size = sizeof m;
    m.abi_major = QPLUG_ABI_MAJOR;
    m.id = str(id);
    m.content_type = str(ct);
    m.body = {reinterpret_cast<const uint8_t*>(body.data()), body.size()};
    m.headers = headers;
    m.header_count = 6;
    m.attempts = 3;
  }
};

std::string text(qplug_str s) { return std::string(s.ptr, s.len); }

void expect_round_trip(const qplug_message& v) {
  EXPECT_EQ(v.struct_size, sizeof(qplug_message));
  EXPECT_EQ(v.abi_major, QPLUG_ABI_MAJOR);
  EXPECT_EQ(v.abi_minor, QPLUG_ABI_MINOR);
  EXPECT_EQ(text(v.id), "id-1");
  EXPECT_EQ(text(v.content_type), "application/json");
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(v.body.ptr), v.body.len), std::string("b\0dy", 4));
  EXPECT_EQ(v.attempts, 3u);
  ASSERT_EQ(v.header_count, 6u);
  EXPECT_EQ(text(v.headers[0].key), "n");
  EXPECT_EQ(v.headers[0].value.type, QPLUG_VALUE_NULL);
  EXPECT_EQ(v.headers[1].value.type, QPLUG_VALUE_BOOL);
  EXPECT_EQ(v.headers[1].value.as.boolean, 1);
  EXPECT_EQ(v.headers[2].value.as.i64, -42);
  EXPECT_EQ(v.headers[3].value.as.f64, 2.5);
  EXPECT_EQ(text(v.headers[4].value.as.str), "text");
  EXPECT_EQ(v.headers[5].value.type, QPLUG_VALUE_BYTES);
  EXPECT_EQ(
      std::string(reinterpret_cast<const char*>(v.headers[5].value.as.bytes.ptr), v.headers[5].value.as.bytes.len),
      std::string("\x00\xff", 2));
}

TEST(OwnedMessage, CopiesEverySpanAndHeaderType) {
  auto src = std::make_unique<Borrowed>();
  OwnedMessage owned(src->m);
  src.reset();  // the borrowed buffers are gone: the copy must not point into them
  expect_round_trip(owned.view());
}

TEST(OwnedMessage, NullSpansWithZeroLengthBecomeEmpty) {
  qplug_header h{};
  h.value.type = QPLUG_VALUE_STRING;  // key and value NULL with length 0
  qplug_message m{};
  m.struct_size = sizeof m;
  m.headers = &h;
  m.header_count = 1;
  OwnedMessage owned(m);
  EXPECT_EQ(owned.id, "");
  EXPECT_EQ(owned.body, "");
  ASSERT_EQ(owned.headers.size(), 1u);
  EXPECT_EQ(owned.headers[0].key, "");
  EXPECT_EQ(owned.headers[0].data, "");
  const qplug_message& v = owned.view();
  EXPECT_EQ(v.body.len, 0u);
  EXPECT_EQ(v.header_count, 1u);
}

TEST(OwnedMessage, AnUnknownHeaderTypeIsKeptAsNull) {
  qplug_header h{};
  std::string key = "weird";
  h.key = str(key);
  h.value.type = 99;
  qplug_message m{};
  m.headers = &h;
  m.header_count = 1;
  OwnedMessage owned(m);
  EXPECT_EQ(owned.headers[0].type, QPLUG_VALUE_NULL);
}

TEST(OwnedMessage, NoHeadersGivesANullHeaderArray) {
  OwnedMessage owned;
  owned.body = "x";
  const qplug_message& v = owned.view();
  EXPECT_EQ(v.headers, nullptr);
  EXPECT_EQ(v.header_count, 0u);
  EXPECT_EQ(v.body.len, 1u);
}

TEST(OwnedMessage, ViewAfterAMoveOrCopyPointsIntoTheNewObject) {
  Borrowed src;
  std::vector<OwnedMessage> many;
  for (int i = 0; i < 50; ++i) many.emplace_back(src.m);  // reallocations move the elements
  for (auto& o : many) {
    const qplug_message& v = o.view();
    EXPECT_EQ(v.id.ptr, o.id.data());
    expect_round_trip(v);
  }
  OwnedMessage copy = many[0];
  many.clear();
  const qplug_message& v = copy.view();
  EXPECT_EQ(v.headers[4].value.as.str.ptr, copy.headers[4].data.data());
  expect_round_trip(v);
}

TEST(OwnedMessage, AssignReplacesThePreviousContent) {
  Borrowed src;
  OwnedMessage owned(src.m);
  qplug_message empty{};
  owned.assign(empty);
  EXPECT_EQ(owned.id, "");
  EXPECT_TRUE(owned.headers.empty());
  EXPECT_EQ(owned.view().header_count, 0u);
  EXPECT_EQ(owned.attempts, 0u);
}

// value_view() is what lets a driver holding OwnedHeaders (amqp's I/O
// thread) use the SDK's value readers instead of parsing values itself.
TEST(ValueView, ViewsEveryTypeAndPointsIntoTheOwnedHeader) {
  qplug::sdk::OwnedHeader h;
  h.type = QPLUG_VALUE_STRING;
  h.data = "1.5s";
  qplug_value v = qplug::sdk::value_view(h);
  EXPECT_EQ(v.type, QPLUG_VALUE_STRING);
  EXPECT_EQ(v.as.str.ptr, h.data.data());
  EXPECT_EQ(v.as.str.len, 4u);
  h.type = QPLUG_VALUE_BYTES;
  v = qplug::sdk::value_view(h);
  EXPECT_EQ(static_cast<const void*>(v.as.bytes.ptr), static_cast<const void*>(h.data.data()));
  h.type = QPLUG_VALUE_INT64;
  h.i64 = -7;
  EXPECT_EQ(qplug::sdk::value_view(h).as.i64, -7);
  h.type = QPLUG_VALUE_BOOL;
  h.i64 = 2;
  EXPECT_TRUE(qplug::sdk::value_view(h).as.boolean);
  h.type = QPLUG_VALUE_DOUBLE;
  h.f64 = 0.25;
  EXPECT_EQ(qplug::sdk::value_view(h).as.f64, 0.25);
  h.type = 42;  // unknown: the type is kept, so a reader refuses it by type
  EXPECT_EQ(qplug::sdk::value_view(h).type, 42);
}

TEST(HasField, CoversOnlyWhatTheWritersStructSizeCovers) {
  qplug_publish_options o{};
  o.struct_size = sizeof o;
  EXPECT_TRUE(QPLUG_SDK_HAS_FIELD(&o, qplug_publish_options, timeout_ms));
  o.struct_size = offsetof(qplug_publish_options, timeout_ms);  // an older, shorter writer
  EXPECT_FALSE(QPLUG_SDK_HAS_FIELD(&o, qplug_publish_options, timeout_ms));
  const qplug_publish_options* none = nullptr;
  EXPECT_FALSE(QPLUG_SDK_HAS_FIELD(none, qplug_publish_options, timeout_ms));
}

}  // namespace

namespace {

std::vector<std::string> keys_and_values(const std::vector<qplug::sdk::OwnedHeader>& h) {
  std::vector<std::string> out;
  for (const auto& x : h) out.push_back(x.key + '=' + x.data);
  return out;
}

qplug::sdk::OwnedHeader text_header(const std::string& key, const std::string& value) {
  return {key, QPLUG_VALUE_STRING, 0, 0, value};
}

}  // namespace

// A foreign publisher's repeated keys: the first of each stays, in order.
TEST(DropRepeatedHeaders, KeepsTheFirstOfEachKeyInOrder) {
  std::vector<qplug::sdk::OwnedHeader> h = {text_header("a", "1"), text_header("reply_to", "x"), text_header("a", "2"),
                                            text_header("b", "3"), text_header("reply_to", "y"), text_header("a", "4")};
  EXPECT_EQ(qplug::sdk::drop_repeated_headers(&h), 3u);
  EXPECT_EQ(keys_and_values(h), (std::vector<std::string>{"a=1", "reply_to=x", "b=3"}));
  EXPECT_EQ(qplug::sdk::drop_repeated_headers(&h), 0u) << "unique keys are left alone";
  std::vector<qplug::sdk::OwnedHeader> none;
  EXPECT_EQ(qplug::sdk::drop_repeated_headers(&none), 0u);
}

// Past the pairwise bound the same rule holds (the hashed path).
TEST(DropRepeatedHeaders, ManyHeadersKeepTheFirstOfEachKeyToo) {
  std::vector<qplug::sdk::OwnedHeader> h;
  for (int i = 0; i < 200; ++i) h.push_back(text_header('k' + std::to_string(i % 100), std::to_string(i)));
  EXPECT_EQ(qplug::sdk::drop_repeated_headers(&h), 100u);
  ASSERT_EQ(h.size(), 100u);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(h[i].key, 'k' + std::to_string(i));
    EXPECT_EQ(h[i].data, std::to_string(i)) << "the first copy stays";
  }
}
