// url.hpp: the one broker-URL parser of the network drivers.
#include <gtest/gtest.h>

#include <qplug/sdk/url.hpp>
#include <string>

using qplug::sdk::parse_url;
using qplug::sdk::percent_decode;

namespace {

TEST(ParseUrl, HostAndPort) {
  std::string why;
  auto u = parse_url("redis://127.0.0.1:6379", &why);
  ASSERT_TRUE(u) << why;
  EXPECT_EQ(u->scheme, "redis");
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 6379);
  EXPECT_EQ(u->user, "");
  EXPECT_EQ(u->password, "");
  EXPECT_EQ(u->path, "");
}

TEST(ParseUrl, PortIsZeroWhenAbsent) {
  auto u = parse_url("amqp://rabbit", nullptr);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "rabbit");
  EXPECT_EQ(u->port, 0);
}

TEST(ParseUrl, CredentialsAndPathArePercentDecoded) {
  auto u = parse_url("amqps://us%40er:p%3Ass@broker:5671/my%2Fvhost", nullptr);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->scheme, "amqps");
  EXPECT_EQ(u->user, "us@er");
  EXPECT_EQ(u->password, "p:ss");
  EXPECT_EQ(u->host, "broker");
  EXPECT_EQ(u->port, 5671);
  EXPECT_EQ(u->path, "my/vhost");
}

TEST(ParseUrl, PasswordMayContainColonAndAtSign) {
  auto u = parse_url("redis://user:a:b@c@host:1", nullptr);  // the LAST '@' ends the credentials
  ASSERT_TRUE(u);
  EXPECT_EQ(u->user, "user");
  EXPECT_EQ(u->password, "a:b@c");
  EXPECT_EQ(u->host, "host");
}

TEST(ParseUrl, UserWithoutPassword) {
  auto u = parse_url("redis://alice@h", nullptr);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->user, "alice");
  EXPECT_EQ(u->password, "");
}

TEST(ParseUrl, Ipv6InBrackets) {
  auto u = parse_url("redis://[::1]:6380/2", nullptr);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 6380);
  EXPECT_EQ(u->path, "2");
  auto bare = parse_url("mqtt://[fe80::1]", nullptr);
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->host, "fe80::1");
  EXPECT_EQ(bare->port, 0);
}

// Each malformed URL fails with a reason that says what is wrong.
TEST(ParseUrl, MalformedInputIsRefusedWithAReason) {
  struct Case {
    const char* url;
    const char* reason;
  };
  const Case cases[] = {
      {"localhost:6379", "missing scheme"},
      {"://host", "missing scheme"},
      {"redis://", "missing host"},
      {"redis://:6379", "missing host"},
      {"redis://user@", "missing host"},
      {"redis://host:", "bad port ''"},
      {"redis://host:abc", "bad port 'abc'"},
      {"redis://host:123456", "bad port '123456'"},
      {"redis://host:-1", "bad port '-1'"},
      {"redis://host:0", "port out of range"},
      {"redis://host:65536", "port out of range"},
      {"redis://[::1", "unterminated IPv6"},
      {"redis://[::1]x", "junk after IPv6"},
      {"redis://[]:1", "missing host"},
  };
  for (const Case& c : cases) {
    std::string why;
    EXPECT_FALSE(parse_url(c.url, &why)) << c.url;
    EXPECT_NE(why.find(c.reason), std::string::npos) << c.url << ": '" << why << "'";
    EXPECT_FALSE(parse_url(c.url, nullptr)) << "a NULL reason pointer is allowed: " << c.url;
  }
}

TEST(ParseUrl, HighestPortIsAccepted) {
  auto u = parse_url("redis://h:65535", nullptr);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->port, 65535);
}

TEST(PercentDecode, DecodesValidEscapesAndKeepsBrokenOnes) {
  EXPECT_EQ(percent_decode("a%20b"), "a b");
  EXPECT_EQ(percent_decode("%41%42"), "AB");
  EXPECT_EQ(percent_decode("%zz"), "%zz");
  EXPECT_EQ(percent_decode("100%"), "100%");
  EXPECT_EQ(percent_decode("%4"), "%4");
  EXPECT_EQ(percent_decode("%2f%2F"), "//");
  EXPECT_EQ(percent_decode(""), "");
}

}  // namespace
