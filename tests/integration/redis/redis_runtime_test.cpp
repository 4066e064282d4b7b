// tests/integration/redis/redis_runtime_test.cpp -- qplug::Runtime over the
// Redis driver: Runtime::publish_batch names every message the caller left
// unnamed (a distinct UUIDv7 each, written straight into the ABI views) and
// keeps the IDs and content types the caller set; unset content types come
// from the queue's codec. Checked on what a subscriber receives.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <qplug/config.hpp>
#include <qplug/runtime.hpp>
#include <set>
#include <string>

#include "broker_env.hpp"

namespace qplug {
namespace {

using namespace std::chrono_literals;
using qplug::testing::kRedis;

TEST(RedisRuntime, PublishBatchNamesUnnamedMessagesAndKeepsGivenFields) {
  const std::string url = qplug::testing::broker_url(kRedis);
  if (std::string why = qplug::testing::broker_unreachable(kRedis, url); !why.empty()) {
    if (qplug::testing::brokers_required()) FAIL() << why;
    GTEST_SKIP() << why;
  }
  const std::string prefix = qplug::testing::unique_name("rt") + "-";
  auto cfg = parse_config(
      "version: 1\nnamespace: it\nentries:\n"
      "  - {kind: queue.driver.redis, name: redis, url: '" +
          url + "', key_prefix: '" + prefix +
          "'}\n"
          "  - {kind: queue.queue, name: names, driver: redis}\n",
      "redis_runtime_test.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status().to_string();
  auto rt = Runtime::create(std::move(*cfg));
  ASSERT_TRUE(rt.ok()) << rt.status().to_string();

  std::vector<Message> batch(5);
  for (size_t i = 0; i < batch.size(); ++i) batch[i].body = "\"m" + std::to_string(i) + "\"";
  batch[0].id = "given-0";
  batch[0].content_type = "text/plain";
  batch[3].id = "given-3";
  ASSERT_TRUE((*rt)->publish_batch("it:names", std::move(batch)).ok());

  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, std::pair<std::string, std::string>> got;  // body -> (id, content type)
  auto sub = (*rt)->subscribe("it:names", {}, [&](Delivery& d) {
    std::lock_guard lock(mu);
    got[d.message().body] = {d.message().id, d.message().content_type};
    cv.notify_all();
    return ok_status();
  });
  ASSERT_TRUE(sub.ok()) << sub.status().to_string();
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 60s, [&] { return got.size() >= 5; })) << "got " << got.size() << " of 5";
  }
  EXPECT_TRUE((*sub)->stop().ok());
  (*rt)->stop();
  qplug::testing::run_command("redis-cli -u " + url + " DEL " + prefix + "names >/dev/null");

  EXPECT_EQ(got["\"m0\""], std::make_pair(std::string("given-0"), std::string("text/plain")));
  EXPECT_EQ(got["\"m3\""], std::make_pair(std::string("given-3"), std::string("application/json")));
  std::set<std::string> assigned;
  for (const char* body : {"\"m1\"", "\"m2\"", "\"m4\""}) {
    const auto& [id, ct] = got[body];
    EXPECT_EQ(ct, "application/json") << body;
    ASSERT_EQ(id.size(), 36u) << body << ": " << id;
    EXPECT_EQ(id[14], '7') << "UUIDv7 version nibble: " << id;
    EXPECT_EQ(id[8], '-');
    assigned.insert(id);
  }
  EXPECT_EQ(assigned.size(), 3u) << "every unnamed message gets its own ID";
}

}  // namespace
}  // namespace qplug
