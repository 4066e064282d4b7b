// The dynamic Value model.
#include <gtest/gtest.h>

#include <qplug/value.hpp>

namespace qplug {
namespace {

TEST(ValueTest, TypesArePreserved) {
  EXPECT_TRUE(Value().is_null());
  EXPECT_TRUE(Value(nullptr).is_null());
  EXPECT_TRUE(Value(true).is_bool());
  EXPECT_TRUE(Value(1).is_int());
  EXPECT_TRUE(Value(int64_t{1} << 40).is_int());
  EXPECT_TRUE(Value(1.0).is_double());
  EXPECT_TRUE(Value("s").is_string());
  EXPECT_TRUE(Value(std::string("a\0b", 3)).is_string());
  EXPECT_EQ(Value(std::string("a\0b", 3)).as_string().size(), 3u);
  EXPECT_TRUE(Value(Array{1, 2}).is_array());
  EXPECT_TRUE(Value(Map{{"a", 1}}).is_map());
  EXPECT_FALSE(Value(1) == Value(1.0));  // int and float stay distinct
}

TEST(ValueTest, FindLooksUpMapKeys) {
  Value m(Map{{"action", "send_email"}, {"user_id", 456}, {"nested", Map{{"x", true}}}});
  ASSERT_NE(m.find("user_id"), nullptr);
  EXPECT_EQ(m.find("user_id")->as_int(), 456);
  EXPECT_EQ(m.find("action")->as_string(), "send_email");
  ASSERT_NE(m.find("nested"), nullptr);
  EXPECT_TRUE(m.find("nested")->find("x")->as_bool());
  EXPECT_EQ(m.find("missing"), nullptr);
  EXPECT_EQ(m.find(""), nullptr);
}

TEST(ValueTest, FindOnNonMapIsNull) {
  EXPECT_EQ(Value().find("a"), nullptr);
  EXPECT_EQ(Value(3).find("a"), nullptr);
  EXPECT_EQ(Value("a").find("a"), nullptr);
  EXPECT_EQ(Value(Array{"a"}).find("a"), nullptr);
}

TEST(ValueTest, MapKeepsInsertionOrderAndEquality) {
  Value a(Map{{"z", 1}, {"a", 2}});
  ASSERT_EQ(a.as_map().size(), 2u);
  EXPECT_EQ(a.as_map()[0].first, "z");
  EXPECT_EQ(a, Value(Map{{"z", 1}, {"a", 2}}));
  a.as_map().emplace_back("b", 3);
  EXPECT_EQ(a.find("b")->as_int(), 3);
}

}  // namespace
}  // namespace qplug
