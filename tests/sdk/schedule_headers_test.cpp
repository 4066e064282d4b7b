// The shared reader of the `delay` and `priority` neutral headers.
#include <gtest/gtest.h>

#include <qplug/sdk/schedule_headers.hpp>
#include <string>
#include <vector>

using qplug::sdk::header_duration_ms;
using qplug::sdk::header_priority;
using qplug::sdk::read_schedule_headers;
using qplug::sdk::ScheduleHeaders;

namespace {

qplug_header str_header(const std::string& key, const std::string& value) {
  qplug_header h{};
  h.key = {key.data(), key.size()};
  h.value.type = QPLUG_VALUE_STRING;
  h.value.as.str = {value.data(), value.size()};
  return h;
}

qplug_header int_header(const std::string& key, int64_t v) {
  qplug_header h{};
  h.key = {key.data(), key.size()};
  h.value.type = QPLUG_VALUE_INT64;
  h.value.as.i64 = v;
  return h;
}

qplug_message message_with(const std::vector<qplug_header>& hs) {
  qplug_message m{};
  m.struct_size = sizeof m;
  m.abi_major = QPLUG_ABI_MAJOR;
  m.headers = hs.data();
  m.header_count = hs.size();
  return m;
}

// Keys and values must outlive the headers that borrow them.
const std::string kDelay = "delay", kPriority = "priority", kOther = "traceparent";

}  // namespace

TEST(ScheduleHeaders, AbsentMeansImmediateAndNormal) {
  std::vector<qplug_header> hs = {str_header(kOther, "x")};
  ScheduleHeaders out;
  qplug_status st = qplug::sdk::make_status();
  ASSERT_EQ(read_schedule_headers(message_with(hs), 0, "test", &out, &st), QPLUG_OK);
  EXPECT_EQ(out.delay_ms, 0);
  EXPECT_EQ(out.priority, 5);
  EXPECT_EQ(out.delay_index, ScheduleHeaders::kNone);
  EXPECT_EQ(out.priority_index, ScheduleHeaders::kNone);
}

TEST(ScheduleHeaders, ReadsDurationStringsAndIntegerMilliseconds) {
  const std::string v = "1.5s", p = "high";
  std::vector<qplug_header> hs = {str_header(kOther, "x"), str_header(kDelay, v), str_header(kPriority, p)};
  ScheduleHeaders out;
  qplug_status st = qplug::sdk::make_status();
  ASSERT_EQ(read_schedule_headers(message_with(hs), 0, "test", &out, &st), QPLUG_OK);
  EXPECT_EQ(out.delay_ms, 1500);
  EXPECT_EQ(out.delay_index, 1u);
  EXPECT_EQ(out.priority, 9);
  EXPECT_EQ(out.priority_index, 2u);

  hs = {int_header(kDelay, 250), int_header(kPriority, 0)};
  ASSERT_EQ(read_schedule_headers(message_with(hs), 0, "test", &out, &st), QPLUG_OK);
  EXPECT_EQ(out.delay_ms, 250);
  EXPECT_EQ(out.priority, 0);
}

TEST(ScheduleHeaders, MalformedValuesAreInvalidNamingMessageAndHeader) {
  const std::string soon = "soon", urgent = "urgent";
  struct Case {
    std::vector<qplug_header> hs;
    const char* header;
  };
  qplug_header dbl{};
  dbl.key = {kDelay.data(), kDelay.size()};
  dbl.value.type = QPLUG_VALUE_DOUBLE;
  dbl.value.as.f64 = 1.0;
  std::vector<Case> cases = {
      {{str_header(kDelay, soon)}, "delay"},
      {{int_header(kDelay, -1)}, "delay"},
      {{dbl}, "delay"},
      {{int_header(kDelay, 1), int_header(kDelay, 2)}, "delay"},
      {{str_header(kPriority, urgent)}, "priority"},
      {{int_header(kPriority, 10)}, "priority"},
  };
  for (const auto& c : cases) {
    ScheduleHeaders out;
    qplug_status st = qplug::sdk::make_status();
    EXPECT_EQ(read_schedule_headers(message_with(c.hs), 3, "test", &out, &st), QPLUG_INVALID) << c.header;
    const std::string msg = st.message;
    EXPECT_NE(msg.find(std::string("'") + c.header + "'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("message #3"), std::string::npos) << msg;
  }
}

TEST(ScheduleHeaders, PrecheckIsFalseOnlyWithoutKeysOfTheirLength) {
  const std::string five = "abcde", eight = "abcdefgh";
  std::vector<qplug_header> none = {str_header(kOther, "x")};
  EXPECT_FALSE(qplug::sdk::may_have_schedule_headers(message_with(none)));
  EXPECT_FALSE(qplug::sdk::may_have_schedule_headers(message_with({})));
  for (const std::string* k : {&kDelay, &kPriority, &five, &eight}) {
    std::vector<qplug_header> hs = {str_header(kOther, "x"), str_header(*k, "1")};
    EXPECT_TRUE(qplug::sdk::may_have_schedule_headers(message_with(hs))) << *k;
  }
}

// header_priority / header_duration_ms are the one value reader: validate.hpp,
// read_schedule_headers() and amqp's property builder all go through them.
TEST(HeaderValues, PriorityAndDurationsUseTheOneParser) {
  qplug_value v{};
  v.type = QPLUG_VALUE_STRING;
  v.as.str = {"low", 3};
  EXPECT_EQ(header_priority(v), 1);
  v.as.str = {"2m", 2};
  EXPECT_EQ(header_duration_ms(v), 120000);
  v.as.str = {"0.0015s", 7};
  EXPECT_EQ(header_duration_ms(v), 2) << "rounded as parse.hpp does, not truncated";
  v.as.str = {nullptr, 0};
  EXPECT_FALSE(header_priority(v)) << "an empty string is no priority";
  EXPECT_FALSE(header_duration_ms(v)) << "an empty string is no duration";
  v.type = QPLUG_VALUE_INT64;
  v.as.i64 = 7;
  EXPECT_EQ(header_priority(v), 7);
  EXPECT_EQ(header_duration_ms(v), 7);
  v.as.i64 = 10;
  EXPECT_FALSE(header_priority(v));
  v.as.i64 = -1;
  EXPECT_FALSE(header_duration_ms(v));
  v.type = QPLUG_VALUE_NULL;
  EXPECT_FALSE(header_priority(v));
  EXPECT_FALSE(header_duration_ms(v));
}

// An INT64 duration beyond kMaxDurationMs is refused as a string one is: the
// same cap whichever type the publisher used (validate.hpp once accepted it).
TEST(HeaderValues, IntegerDurationsHaveTheStringCap) {
  qplug_value v{};
  v.type = QPLUG_VALUE_INT64;
  v.as.i64 = static_cast<int64_t>(qplug::sdk::kMaxDurationMs);
  EXPECT_EQ(header_duration_ms(v), v.as.i64);
  v.as.i64 += 1;
  EXPECT_FALSE(header_duration_ms(v));
  v.as.i64 = INT64_MAX;
  EXPECT_FALSE(header_duration_ms(v));
}
