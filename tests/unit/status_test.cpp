// Status / Result basics and the printable forms the CLI and Lua show.
#include <gtest/gtest.h>

#include <qplug/status.hpp>

namespace qplug {
namespace {

TEST(StatusTest, DefaultIsOk) {
  Status st;
  EXPECT_TRUE(st.ok());
  EXPECT_EQ(st.kind(), ErrorKind::OK);
  EXPECT_EQ(st.to_string(), "OK");
}

TEST(StatusTest, KindNamesMatchLuaErrorsModule) {
  const std::pair<ErrorKind, const char*> rows[] = {
      {ErrorKind::OK, "OK"},
      {ErrorKind::INVALID, "INVALID"},
      {ErrorKind::NOT_FOUND, "NOT_FOUND"},
      {ErrorKind::PERMISSION_DENIED, "PERMISSION_DENIED"},
      {ErrorKind::UNAVAILABLE, "UNAVAILABLE"},
      {ErrorKind::TIMEOUT, "TIMEOUT"},
      {ErrorKind::FULL, "FULL"},
      {ErrorKind::CANCELED, "CANCELED"},
      {ErrorKind::INTERNAL, "INTERNAL"},
  };
  for (const auto& [kind, name] : rows) EXPECT_EQ(kind_name(kind), name);
  EXPECT_EQ(kind_name(static_cast<ErrorKind>(99)), "UNKNOWN");
}

TEST(StatusTest, ToStringIsKindThenMessage) {
  EXPECT_EQ(invalid_error("queue ID is empty").to_string(), "INVALID: queue ID is empty");
  EXPECT_EQ(Status(ErrorKind::TIMEOUT, "").to_string(), "TIMEOUT");
}

TEST(StatusTest, FactoriesSetRetryable) {
  EXPECT_FALSE(invalid_error("x").retryable());
  EXPECT_FALSE(not_found_error("x").retryable());
  EXPECT_FALSE(permission_denied_error("x").retryable());
  EXPECT_TRUE(unavailable_error("x").retryable());
  EXPECT_TRUE(timeout_error("x").retryable());
  EXPECT_TRUE(full_error("x").retryable());
  EXPECT_FALSE(canceled_error("x").retryable());
  EXPECT_FALSE(internal_error("x").retryable());
  EXPECT_TRUE(internal_error("x", true).retryable());
}

TEST(StatusTest, ResultHoldsValueOrStatus) {
  // (Result<int> trips a GCC 12 -Wmaybe-uninitialized false positive at -O2.)
  Result<std::string> good = std::string("five");
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, "five");
  EXPECT_TRUE(good.status().ok());
  Result<std::string> bad = not_found_error("nope");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().kind(), ErrorKind::NOT_FOUND);
  EXPECT_EQ(bad.status().message(), "nope");
}

}  // namespace
}  // namespace qplug
