// host_log.hpp: driver logging through qplug_host_v1 with level filtering,
// safe with every kind of missing host.
#include <gtest/gtest.h>

#include <cstddef>
#include <qplug/sdk/host_log.hpp>
#include <qplug/sdk/versioned.hpp>
#include <string>
#include <vector>

using qplug::sdk::HostLog;
using qplug::sdk::parse_log_level;

namespace {

struct Line {
  int32_t level;
  std::string driver;
  std::string msg;
};

struct FakeHost {
  std::vector<Line> lines;
  qplug_host_v1 table = qplug::sdk::versioned<qplug_host_v1>();
  FakeHost() {
    table.host_ud = this;
    table.log = [](void* ud, int32_t level, const char* driver, const char* msg) {
      static_cast<FakeHost*>(ud)->lines.push_back({level, driver, msg});
    };
  }
};

TEST(HostLog, FormatsAndPassesTheDriverNameAndLevel) {
  FakeHost host;
  HostLog log(&host.table, "redis");
  log.warn("writer: %s; retry %d", "connection refused", 3);
  log.log(QPLUG_LOG_INFO, "plain");
  ASSERT_EQ(host.lines.size(), 2u);
  EXPECT_EQ(host.lines[0].level, QPLUG_LOG_WARN);
  EXPECT_EQ(host.lines[0].driver, "redis");
  EXPECT_EQ(host.lines[0].msg, "writer: connection refused; retry 3");
  EXPECT_EQ(host.lines[1].level, QPLUG_LOG_INFO);
}

TEST(HostLog, DropsLinesBelowTheMinimumLevel) {
  FakeHost host;
  HostLog log(&host.table, "amqp", QPLUG_LOG_WARN);
  EXPECT_FALSE(log.enabled(QPLUG_LOG_INFO));
  EXPECT_TRUE(log.enabled(QPLUG_LOG_ERROR));
  log.debug("d");
  log.info("i");
  log.warn("w");
  log.error("e");
  ASSERT_EQ(host.lines.size(), 2u);
  EXPECT_EQ(host.lines[0].msg, "w");
  EXPECT_EQ(host.lines[1].msg, "e");
  log.set_min_level(QPLUG_LOG_DEBUG);
  log.debug("now %s", "shown");
  EXPECT_EQ(host.lines.back().msg, "now shown");
}

TEST(HostLog, EveryKindOfMissingHostIsANoOp) {
  HostLog none;
  none.error("nobody hears this %d", 1);
  EXPECT_FALSE(none.enabled(QPLUG_LOG_ERROR));

  HostLog null_host(nullptr, "x");
  null_host.error("nor this");
  EXPECT_FALSE(null_host.enabled(QPLUG_LOG_ERROR));

  FakeHost no_service;
  no_service.table.log = nullptr;
  HostLog a(&no_service.table, "x");
  a.error("nor this");
  EXPECT_FALSE(a.enabled(QPLUG_LOG_ERROR));

  FakeHost old_host;  // a writer whose table ends before `log`
  old_host.table.struct_size = offsetof(qplug_host_v1, log);
  HostLog b(&old_host.table, "x");
  b.error("nor this");
  EXPECT_TRUE(old_host.lines.empty()) << "log read beyond the host's struct_size";
}

TEST(HostLog, ALongLineIsCutAndMarked) {
  FakeHost host;
  HostLog log(&host.table, nullptr);
  std::string big(5000, 'x');
  log.info("%s", big.c_str());
  ASSERT_EQ(host.lines.size(), 1u);
  EXPECT_EQ(host.lines[0].driver, "");
  EXPECT_EQ(host.lines[0].msg.size(), HostLog::kMaxLine - 1);
  EXPECT_EQ(host.lines[0].msg.substr(host.lines[0].msg.size() - 3), "...");
}

TEST(ParseLogLevel, NamesInAnyCase) {
  EXPECT_EQ(parse_log_level("debug"), QPLUG_LOG_DEBUG);
  EXPECT_EQ(parse_log_level("INFO"), QPLUG_LOG_INFO);
  EXPECT_EQ(parse_log_level("Warn"), QPLUG_LOG_WARN);
  EXPECT_EQ(parse_log_level("warning"), QPLUG_LOG_WARN);
  EXPECT_EQ(parse_log_level("error"), QPLUG_LOG_ERROR);
  for (const char* s : {"", "verbose", "err", "2", "info "}) EXPECT_FALSE(parse_log_level(s)) << s;
}

}  // namespace
