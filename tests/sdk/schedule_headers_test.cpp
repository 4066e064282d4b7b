// The shared reader of the `delay` and `priority` neutral headers.
#include <gtest/gtest.h>

#include <qplug/sdk/schedule_headers.hpp>
#include <string>
#include <vector>

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
