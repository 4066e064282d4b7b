// ConfigReader: a driver's flattened settings read with the SDK's one parser
// for booleans and durations (parse.hpp), unknown keys refused by name.
#include <gtest/gtest.h>

#include <initializer_list>
#include <qplug/sdk/config.hpp>
#include <string>
#include <utility>
#include <vector>

using qplug::sdk::ConfigReader;

namespace {

// Owns the strings the qplug_kv views point into.
struct Kvs {
  Kvs(std::initializer_list<std::pair<std::string, std::string>> pairs) : pairs_(pairs) {
    for (const auto& [k, v] : pairs_) kv_.push_back({{k.data(), k.size()}, {v.data(), v.size()}});
  }
  ConfigReader reader() const { return ConfigReader(kv_.data(), kv_.size()); }
  std::vector<std::pair<std::string, std::string>> pairs_;
  std::vector<qplug_kv> kv_;
};

qplug_status fresh() { return qplug::sdk::make_status(); }

}  // namespace

TEST(ConfigReader, BooleansAcceptAnyCaseLikeTheCore) {
  Kvs kvs{{"a", "True"}, {"b", "OFF"}, {"c", "Yes"}, {"d", "0"}};
  ConfigReader cfg = kvs.reader();
  EXPECT_TRUE(cfg.boolean("a", false));
  EXPECT_FALSE(cfg.boolean("b", true));
  EXPECT_TRUE(cfg.boolean("c", false));
  EXPECT_FALSE(cfg.boolean("d", true));
  qplug_status st = fresh();
  EXPECT_TRUE(cfg.finish(&st, "test driver")) << st.message;
}

TEST(ConfigReader, BadBooleanIsInvalidNamingKeyAndBlock) {
  Kvs kvs{{"durable", "ja"}};
  ConfigReader cfg = kvs.reader();
  EXPECT_TRUE(cfg.boolean("durable", true));  // the default, and finish() fails
  qplug_status st = fresh();
  ASSERT_FALSE(cfg.finish(&st, "amqp queue options"));
  EXPECT_EQ(st.code, QPLUG_INVALID);
  EXPECT_NE(std::string(st.message).find("amqp queue options"), std::string::npos) << st.message;
  EXPECT_NE(std::string(st.message).find("'durable'"), std::string::npos) << st.message;
  EXPECT_NE(std::string(st.message).find("'ja'"), std::string::npos) << st.message;
}

TEST(ConfigReader, DurationsRoundLikeTheCore) {
  Kvs kvs{{"a", "1.0009s"}, {"b", "0.6ms"}, {"c", "1.5S"}, {"d", "250"}, {"e", "2m"}};
  ConfigReader cfg = kvs.reader();
  EXPECT_EQ(cfg.duration_ms("a", -1), 1001);  // rounded, not truncated to 1000
  EXPECT_EQ(cfg.duration_ms("b", -1), 1);
  EXPECT_EQ(cfg.duration_ms("c", -1), 1500);
  EXPECT_EQ(cfg.duration_ms("d", -1), 250);
  EXPECT_EQ(cfg.duration_ms("e", -1), 120000);
  qplug_status st = fresh();
  EXPECT_TRUE(cfg.finish(&st, "test driver")) << st.message;
}

TEST(ConfigReader, DurationsAboveTheCapAreInvalid) {
  Kvs kvs{{"a", "1e16"}};
  ConfigReader cfg = kvs.reader();
  EXPECT_EQ(cfg.duration_ms("a", 7), 7);
  qplug_status st = fresh();
  EXPECT_FALSE(cfg.finish(&st, "test driver"));
  EXPECT_NE(std::string(st.message).find("'a'"), std::string::npos) << st.message;
}

TEST(ConfigReader, UnknownKeyIsInvalidNamingIt) {
  Kvs kvs{{"url", "x"}, {"colour", "blue"}};
  ConfigReader cfg = kvs.reader();
  EXPECT_EQ(cfg.str("url", ""), "x");
  qplug_status st = fresh();
  ASSERT_FALSE(cfg.finish(&st, "redis driver"));
  EXPECT_STREQ(st.message, "redis driver: unknown key 'colour'");
}

TEST(ConfigReader, IntegersAreRangeChecked) {
  Kvs kvs{{"n", "70000"}};
  ConfigReader cfg = kvs.reader();
  EXPECT_EQ(cfg.integer("n", 5, 0, 65535), 5);
  qplug_status st = fresh();
  EXPECT_FALSE(cfg.finish(&st, "amqp driver"));
  EXPECT_NE(std::string(st.message).find("[0, 65535]"), std::string::npos) << st.message;
}

TEST(ConfigReader, AliasIsReadUnderItsNewNameWithAWarning) {
  Kvs kvs{{"old", "250ms"}};
  ConfigReader cfg = kvs.reader();
  cfg.alias("old", "new");
  EXPECT_TRUE(cfg.has("new"));
  EXPECT_EQ(cfg.duration_ms("new", 0), 250);
  qplug_status st = fresh();
  EXPECT_TRUE(cfg.finish(&st, "test driver")) << st.message;
  ASSERT_EQ(cfg.warnings().size(), 1u);
  EXPECT_EQ(cfg.warnings()[0], "'old' is deprecated, use 'new'");
}

TEST(ConfigReader, AliasAndNewNameWithTheSameValueIsAcceptedWithAWarning) {
  Kvs kvs{{"old", "5"}, {"new", "5"}};
  ConfigReader cfg = kvs.reader();
  cfg.alias("old", "new");
  EXPECT_EQ(cfg.integer("new", 0), 5);
  qplug_status st = fresh();
  EXPECT_TRUE(cfg.finish(&st, "test driver")) << st.message;
  EXPECT_EQ(cfg.warnings().size(), 1u);
}

TEST(ConfigReader, AliasAndNewNameWithDifferentValuesIsInvalid) {
  Kvs kvs{{"old", "5"}, {"new", "6"}};
  ConfigReader cfg = kvs.reader();
  cfg.alias("old", "new");
  EXPECT_EQ(cfg.integer("new", 0), 6);
  qplug_status st = fresh();
  ASSERT_FALSE(cfg.finish(&st, "test driver"));
  EXPECT_STREQ(st.message, "test driver: 'old' (deprecated) is '5' but 'new' is '6': give only 'new'");
}

TEST(ConfigReader, AnAliasNotGivenChangesNothing) {
  Kvs kvs{{"new", "6"}};
  ConfigReader cfg = kvs.reader();
  cfg.alias("old", "new");
  EXPECT_EQ(cfg.integer("new", 0), 6);
  qplug_status st = fresh();
  EXPECT_TRUE(cfg.finish(&st, "test driver")) << st.message;
  EXPECT_TRUE(cfg.warnings().empty());
}

TEST(ConfigReader, RejectedKeyFailsWithTheGivenReason) {
  Kvs kvs{{"tls.enabled", "true"}};
  ConfigReader cfg = kvs.reader();
  cfg.reject("tls.enabled", "'tls.enabled' is not supported");
  cfg.reject("tls.ca_file", "not given, so never reported");
  qplug_status st = fresh();
  ASSERT_FALSE(cfg.finish(&st, "redis driver"));
  EXPECT_STREQ(st.message, "redis driver: 'tls.enabled' is not supported");
}

namespace {
struct Logged {
  std::vector<std::string> lines;
};
void record_log(void* ud, int32_t level, const char* driver, const char* msg) {
  static_cast<Logged*>(ud)->lines.push_back(std::to_string(level) + " " + driver + ": " + msg);
}
}  // namespace

TEST(ConfigReader, WarningsAreLoggedAtWarnThroughTheHost) {
  Kvs kvs{{"old", "1"}};
  ConfigReader cfg = kvs.reader();
  cfg.alias("old", "new");
  (void)cfg.integer("new", 0);
  Logged logged;
  qplug_host_v1 host{};
  host.struct_size = sizeof host;
  host.host_ud = &logged;
  host.log = record_log;
  cfg.log_warnings(&host, "redis");
  ASSERT_EQ(logged.lines.size(), 1u);
  EXPECT_EQ(logged.lines[0], std::to_string(QPLUG_LOG_WARN) + " redis: 'old' is deprecated, use 'new'");
  cfg.log_warnings(nullptr, "redis");  // a host without logging: nothing, no crash
}
