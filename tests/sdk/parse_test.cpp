// The one boolean/duration/priority parser every part of qplug shares.
#include <gtest/gtest.h>

#include <qplug/sdk/parse.hpp>

using qplug::sdk::parse_bool;
using qplug::sdk::parse_duration_ms;
using qplug::sdk::parse_priority;

TEST(ParseBool, AcceptsEveryCaseOfTheSixWordsAndDigits) {
  for (const char* t : {"true", "True", "TRUE", "yes", "Yes", "on", "ON", "1"}) EXPECT_EQ(parse_bool(t), true) << t;
  for (const char* f : {"false", "False", "no", "NO", "off", "Off", "0"}) EXPECT_EQ(parse_bool(f), false) << f;
}

TEST(ParseBool, RejectsEverythingElse) {
  for (const char* s : {"", "t", "y", "2", "truee", " true", "true ", "enabled", "-1"}) {
    EXPECT_FALSE(parse_bool(s).has_value()) << "'" << s << "'";
  }
}

TEST(ParseDuration, BareNumbersAreMilliseconds) {
  EXPECT_EQ(parse_duration_ms("0"), 0);
  EXPECT_EQ(parse_duration_ms("250"), 250);
  EXPECT_EQ(parse_duration_ms("+7"), 7);
}

TEST(ParseDuration, UnitsScaleAndFractionsRound) {
  EXPECT_EQ(parse_duration_ms("250ms"), 250);
  EXPECT_EQ(parse_duration_ms("1.5s"), 1500);
  EXPECT_EQ(parse_duration_ms("2m"), 120000);
  EXPECT_EQ(parse_duration_ms("1h"), 3600000);
  EXPECT_EQ(parse_duration_ms("2S"), 2000);
  EXPECT_EQ(parse_duration_ms("10MS"), 10);
  EXPECT_EQ(parse_duration_ms("0.4ms"), 0);
  EXPECT_EQ(parse_duration_ms("0.6ms"), 1);
  EXPECT_EQ(parse_duration_ms("0.0015s"), 2);  // rounded, not truncated
}

TEST(ParseDuration, RejectsMalformedNegativeAndHuge) {
  for (const char* s : {"", "ms", "s", "-1", "-1s", "1x", "1 s", " 1", "1.2.3", "nan", "inf", "1e16", "1e13h", "abc"}) {
    EXPECT_FALSE(parse_duration_ms(s).has_value()) << "'" << s << "'";
  }
  EXPECT_EQ(parse_duration_ms("1e15"), 1000000000000000);
}

TEST(ParsePriority, NamesAndDigits) {
  EXPECT_EQ(parse_priority("high"), 9);
  EXPECT_EQ(parse_priority("HIGH"), 9);
  EXPECT_EQ(parse_priority("normal"), 5);
  EXPECT_EQ(parse_priority("low"), 1);
  EXPECT_EQ(parse_priority("0"), 0);
  EXPECT_EQ(parse_priority("9"), 9);
  EXPECT_EQ(parse_priority(int64_t{3}), 3);
  for (const char* s : {"", "10", "-1", "urgent", " 5"}) EXPECT_FALSE(parse_priority(s).has_value()) << s;
  EXPECT_FALSE(parse_priority(int64_t{10}).has_value());
  EXPECT_FALSE(parse_priority(int64_t{-1}).has_value());
}
