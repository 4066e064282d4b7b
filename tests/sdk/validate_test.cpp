// validate.hpp: the one rule set every driver checks a publish batch against.
// Each rule has a case that breaks it and asserts INVALID naming the field.
#include <gtest/gtest.h>

#include <qplug/sdk/validate.hpp>
#include <string>
#include <vector>

using qplug::sdk::check_batch;
using qplug::sdk::check_message;
using qplug::sdk::make_status;
using qplug::sdk::MessageLimits;
using qplug::sdk::OwnedMessage;

namespace {

OwnedMessage message(const std::string& id = "m1") {
  OwnedMessage m;
  m.id = id;
  m.content_type = "text/plain";
  m.body = "hello";
  return m;
}

void add(OwnedMessage& m, const std::string& key, int32_t type, int64_t i64 = 0, const std::string& data = "") {
  qplug::sdk::OwnedHeader h;
  h.key = key;
  h.type = type;
  h.i64 = i64;
  h.data = data;
  m.headers.push_back(h);
}

// The status message of checking `m` with `limits`; "" when it passes.
std::string why(OwnedMessage& m, const MessageLimits& limits = {}) {
  qplug_status st = make_status();
  int32_t rc = check_message(&m.view(), 4, "test: publish to 'q'", limits, &st);
  if (rc == QPLUG_OK) return "";
  EXPECT_EQ(rc, QPLUG_INVALID);
  EXPECT_EQ(st.code, QPLUG_INVALID);
  EXPECT_EQ(st.flags, 0u) << "bad input is never retryable";
  return st.message;
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(CheckMessage, AGoodMessageWithEveryHeaderTypePasses) {
  OwnedMessage m = message();
  add(m, "n", QPLUG_VALUE_NULL);
  add(m, "b", QPLUG_VALUE_BOOL, 1);
  add(m, "i", QPLUG_VALUE_INT64, -5);
  add(m, "s", QPLUG_VALUE_STRING, 0, "x");
  add(m, "raw", QPLUG_VALUE_BYTES, 0, std::string("\0\1", 2));
  add(m, "priority", QPLUG_VALUE_STRING, 0, "HIGH");
  add(m, "delay", QPLUG_VALUE_STRING, 0, "1.5s");
  add(m, "ttl", QPLUG_VALUE_INT64, 60000);
  EXPECT_EQ(why(m), "");
  OwnedMessage empty;  // empty id, body and no headers are fine
  EXPECT_EQ(why(empty), "");
}

TEST(CheckMessage, NamesWhereAndWhichMessage) {
  OwnedMessage m = message(std::string(300, 'i'));
  std::string w = why(m);
  EXPECT_TRUE(has(w, "test: publish to 'q': message #4: id is 300 bytes, more than 255 (max_id_bytes)")) << w;
}

TEST(CheckMessage, NullAndOldMessagesAreRefused) {
  qplug_status st = make_status();
  EXPECT_EQ(check_message(nullptr, 0, "x", {}, &st), QPLUG_INVALID);
  EXPECT_TRUE(has(st.message, "message #0 is NULL")) << st.message;

  OwnedMessage m = message();
  qplug_message old = m.view();
  old.struct_size = offsetof(qplug_message, headers);
  EXPECT_EQ(check_message(&old, 0, "x", {}, &st), QPLUG_INVALID);
  EXPECT_TRUE(has(st.message, "struct_size")) << st.message;
  qplug_message other_major = m.view();
  other_major.abi_major = QPLUG_ABI_MAJOR + 1;
  EXPECT_EQ(check_message(&other_major, 0, "x", {}, &st), QPLUG_INVALID);
}

TEST(CheckMessage, ANullSpanWithALengthIsNamed) {
  OwnedMessage m = message();
  add(m, "k", QPLUG_VALUE_STRING, 0, "v");
  const char* fields[] = {"id", "content_type", "body", "headers"};
  for (const char* field : fields) {
    qplug_message bad = m.view();
    if (std::string(field) == "id") bad.id.ptr = nullptr;
    if (std::string(field) == "content_type") bad.content_type.ptr = nullptr;
    if (std::string(field) == "body") bad.body.ptr = nullptr;
    if (std::string(field) == "headers") bad.headers = nullptr;
    qplug_status st = make_status();
    EXPECT_EQ(check_message(&bad, 0, "x", {}, &st), QPLUG_INVALID) << field;
    EXPECT_TRUE(has(st.message, std::string(field) + " is NULL with a non-zero length")) << st.message;
  }
  std::vector<qplug_header> headers(m.view().headers, m.view().headers + 1);
  headers[0].value.as.str.ptr = nullptr;
  qplug_message bad = m.view();
  bad.headers = headers.data();
  qplug_status st = make_status();
  EXPECT_EQ(check_message(&bad, 0, "x", {}, &st), QPLUG_INVALID);
  EXPECT_TRUE(has(st.message, "header 'k' value is NULL")) << st.message;
}

TEST(CheckMessage, HeaderKeysMustBeNonEmptyAndTypesKnown) {
  OwnedMessage m = message();
  add(m, "", QPLUG_VALUE_NULL);
  EXPECT_TRUE(has(why(m), "header #0 has an empty key"));
  OwnedMessage t = message();
  add(t, "k", QPLUG_VALUE_STRING, 0, "v");
  std::vector<qplug_header> headers(t.view().headers, t.view().headers + 1);
  headers[0].value.type = 42;
  qplug_message bad = t.view();
  bad.headers = headers.data();
  qplug_status st = make_status();
  EXPECT_EQ(check_message(&bad, 0, "x", {}, &st), QPLUG_INVALID);
  EXPECT_TRUE(has(st.message, "header 'k' has unknown value type 42")) << st.message;
}

// Header keys are unique: a handler reads headers as a map (Lua table), and
// brokers disagree on repeats (AMQP tables keep both, a native property takes
// one), so a repeated key would reach handlers as one of its values, which
// one depending on the broker. Refused before anything is sent, on every driver.
TEST(CheckMessage, ARepeatedHeaderKeyIsRefusedNamingIt) {
  OwnedMessage m = message();
  add(m, "a", QPLUG_VALUE_INT64, 1);
  add(m, "reply_to", QPLUG_VALUE_STRING, 0, "x");
  add(m, "reply_to", QPLUG_VALUE_STRING, 0, "y");
  EXPECT_TRUE(has(why(m), "message #4: header 'reply_to' is given twice (#1 and #2)")) << why(m);
  // Keys differing only in case are different keys.
  OwnedMessage c = message();
  add(c, "k", QPLUG_VALUE_NULL);
  add(c, "K", QPLUG_VALUE_NULL);
  EXPECT_EQ(why(c), "");
  // Past the pairwise bound the check sorts: a repeat far apart is found too.
  OwnedMessage big = message();
  for (int i = 0; i < 100; ++i) add(big, 'h' + std::to_string(i), QPLUG_VALUE_NULL);
  EXPECT_EQ(why(big), "");
  add(big, "h3", QPLUG_VALUE_NULL);
  EXPECT_TRUE(has(why(big), "header 'h3' is given twice (#3 and #100)")) << why(big);
}

TEST(CheckMessage, DefaultLimitsAreTheAmqpShortStringAndInclusive) {
  OwnedMessage at_limit = message(std::string(255, 'i'));
  at_limit.content_type = std::string(255, 'c');
  add(at_limit, std::string(255, 'k'), QPLUG_VALUE_NULL);
  EXPECT_EQ(why(at_limit), "") << "255 bytes is allowed";

  OwnedMessage ct = message();
  ct.content_type = std::string(256, 'c');
  EXPECT_TRUE(has(why(ct), "content_type is 256 bytes, more than 255 (max_content_type_bytes)"));
  OwnedMessage key = message();
  add(key, std::string(256, 'k'), QPLUG_VALUE_NULL);
  EXPECT_TRUE(has(why(key), "is 256 bytes, more than 255 (max_header_key_bytes)")) << why(key);
}

TEST(CheckMessage, EveryLimitIsConfigurable) {
  MessageLimits tight;
  tight.max_id_bytes = 2;
  tight.max_content_type_bytes = 4;
  tight.max_body_bytes = 3;
  tight.max_headers = 1;
  tight.max_header_key_bytes = 3;
  tight.max_header_value_bytes = 2;
  OwnedMessage id = message("abc");
  EXPECT_TRUE(has(why(id, tight), "(max_id_bytes)"));
  OwnedMessage body = message("a");
  body.content_type = "";
  EXPECT_TRUE(has(why(body, tight), "body is 5 bytes, more than 3 (max_body_bytes)"));
  OwnedMessage headers = message("a");
  headers.content_type = "";
  headers.body = "";
  add(headers, "a", QPLUG_VALUE_NULL);
  EXPECT_EQ(why(headers, tight), "");
  add(headers, "b", QPLUG_VALUE_NULL);
  EXPECT_TRUE(has(why(headers, tight), "has 2 headers, more than 1 (max_headers)"));
  OwnedMessage value = message("a");
  value.content_type = "";
  value.body = "";
  add(value, "k", QPLUG_VALUE_BYTES, 0, "xyz");
  EXPECT_TRUE(has(why(value, tight), "header 'k' value is 3 bytes, more than 2 (max_header_value_bytes)"));
}

// Issue 11: AMQP closed the connection for a header table bigger than its
// frame; the driver passes its frame budget and encoding overhead, and the
// check names the largest header. Inclusive, like the other limits.
TEST(CheckMessage, HeaderBlockLimitCountsTheDriversEncodingAndNamesTheLargest) {
  MessageLimits limits;
  limits.header_entry_overhead_bytes = 6;
  limits.header_scalar_bytes = 8;
  OwnedMessage m = message();
  add(m, "small", QPLUG_VALUE_STRING, 0, "x");                  // 5 + 1 + 6 = 12
  add(m, "big", QPLUG_VALUE_STRING, 0, std::string(100, 'v'));  // 3 + 100 + 6 = 109
  add(m, "n", QPLUG_VALUE_INT64, 7);                            // 1 + 8 + 6 = 15
  limits.max_header_block_bytes = 136;
  EXPECT_EQ(why(m, limits), "");
  limits.max_header_block_bytes = 135;
  const std::string w = why(m, limits);
  EXPECT_TRUE(has(w, "message #4: the headers take 136 bytes encoded, more than 135 (max_header_block_bytes)")) << w;
  EXPECT_TRUE(has(w, "the largest is 'big' (109 bytes)")) << w;
  EXPECT_EQ(why(m), "") << "no block limit by default";
}

TEST(CheckMessage, NeutralHeadersWithAMeaningMustParse) {
  struct Case {
    const char* key;
    int32_t type;
    int64_t i64;
    const char* data;
  };
  const Case bad[] = {
      {"priority", QPLUG_VALUE_STRING, 0, "urgent"},
      {"priority", QPLUG_VALUE_INT64, 10, ""},
      {"priority", QPLUG_VALUE_BOOL, 1, ""},
      {"delay", QPLUG_VALUE_STRING, 0, "soon"},
      {"delay", QPLUG_VALUE_INT64, -1, ""},
      {"ttl", QPLUG_VALUE_STRING, 0, "-5s"},
      {"ttl", QPLUG_VALUE_DOUBLE, 0, ""},
  };
  for (const Case& c : bad) {
    OwnedMessage m = message();
    add(m, c.key, c.type, c.i64, c.data);
    std::string w = why(m);
    EXPECT_TRUE(has(w, std::string("header '") + c.key + "' must be")) << c.key << " " << c.data << ": " << w;
  }
}

TEST(CheckBatch, RefusesEmptyAndNullBatchesAndNamesTheBadMessage) {
  qplug_status st = make_status();
  OwnedMessage good = message("a");
  OwnedMessage bad = message(std::string(256, 'x'));
  const qplug_message* one[] = {&good.view()};
  EXPECT_EQ(check_batch(one, 0, "w", {}, &st), QPLUG_INVALID);
  EXPECT_TRUE(has(st.message, "a batch of 0 messages")) << st.message;
  EXPECT_EQ(check_batch(nullptr, 1, "w", {}, &st), QPLUG_INVALID);
  EXPECT_TRUE(has(st.message, "msgs is NULL")) << st.message;
  const qplug_message* with_null[] = {&good.view(), nullptr};
  EXPECT_EQ(check_batch(with_null, 2, "w", {}, &st), QPLUG_INVALID);
  EXPECT_TRUE(has(st.message, "message #1 is NULL")) << st.message;
  const qplug_message* mixed[] = {&good.view(), &good.view(), &bad.view()};
  EXPECT_EQ(check_batch(mixed, 3, "w", {}, &st), QPLUG_INVALID);
  EXPECT_TRUE(has(st.message, "message #2: id")) << st.message;
  st = make_status();
  EXPECT_EQ(check_batch(one, 1, "w", {}, &st), QPLUG_OK);
  EXPECT_EQ(st.code, QPLUG_OK);
}

}  // namespace
