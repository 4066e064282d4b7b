// tests/integration/redis/redis_resp_test.cpp -- the driver's own RESP
// encoder (plugins/redis/rstream_resp.cpp) writes exactly the bytes
// hiredis' reference encoder does, for the argument shapes the driver sends:
// empty arguments, binary bytes with NULs, lengths with many digits, many
// arguments. No broker needed.
#include <gtest/gtest.h>
#include <hiredis.h>

#include <string>
#include <string_view>
#include <vector>

#include "rstream_resp.hpp"

namespace qplug::rstream {
namespace {

std::string hiredis_encoding(const std::vector<std::string_view>& argv) {
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  for (std::string_view a : argv) {
    ptrs.push_back(a.data() == nullptr ? "" : a.data());
    lens.push_back(a.size());
  }
  char* out = nullptr;
  long long n = redisFormatCommandArgv(&out, static_cast<int>(argv.size()), ptrs.data(), lens.data());
  std::string s(out, static_cast<size_t>(n));
  redisFreeCommand(out);
  return s;
}

void expect_same_as_hiredis(const std::vector<std::string_view>& argv) {
  FormattedCommand cmd(argv);
  ASSERT_NE(cmd.data(), nullptr);
  EXPECT_EQ(std::string(cmd.bytes()), hiredis_encoding(argv));
}

TEST(RedisResp, EncodesAnXaddLikeHiredis) {
  std::string body(100, 'x');
  expect_same_as_hiredis({"XADD", "stream", "*", "id", "0190a3c2-7b1e-7c3d-8f00-0123456789ab", "ct", "text/plain",
                          "body", body, "h.s:tenant", "acme", "h.i:seq", "12345"});
}

TEST(RedisResp, EncodesEmptyAndBinaryArguments) {
  const std::string binary("a\0b\r\n\xff", 6);
  expect_same_as_hiredis({"SET", "", binary});
  expect_same_as_hiredis({std::string_view()});
  FormattedCommand cmd({"X", ""});
  EXPECT_EQ(std::string(cmd.bytes()), "*2\r\n$1\r\nX\r\n$0\r\n\r\n");
}

TEST(RedisResp, EncodesLongArgumentsAndManyOfThem) {
  std::string big(1234567, 'b');
  expect_same_as_hiredis({"XADD", "k", "*", "body", big});
  std::vector<std::string> ids;
  for (int i = 0; i < 1000; ++i) ids.push_back(std::to_string(1700000000000 + i) + "-" + std::to_string(i));
  std::vector<std::string_view> argv{"XACK", "key", "group"};
  argv.insert(argv.end(), ids.begin(), ids.end());
  expect_same_as_hiredis(argv);
}

TEST(RedisResp, MovesOwnership) {
  FormattedCommand a({"PING"});
  const std::string expect(a.bytes());
  FormattedCommand b(std::move(a));
  EXPECT_EQ(a.data(), nullptr);
  EXPECT_EQ(a.size(), 0u);
  EXPECT_EQ(std::string(b.bytes()), expect);
  FormattedCommand c;
  c = std::move(b);
  EXPECT_EQ(std::string(c.bytes()), expect);
  EXPECT_EQ(b.data(), nullptr);
}

}  // namespace
}  // namespace qplug::rstream
