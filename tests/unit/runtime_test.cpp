// runtime_test.cpp -- Runtime creation, routing, publish paths, errors and
// permissions, on the real memory plugin loaded through the loader.
#include <atomic>
#include <future>

#include "runtime_test_util.hpp"

namespace qplug {
namespace {

using test_util::kBaseYaml;
using test_util::make_runtime;
using ::testing::HasSubstr;

int64_t ready_count(Runtime& rt, std::string_view id) {
  auto info = rt.info(id);
  EXPECT_TRUE(info.ok()) << info.status().to_string();
  return info.ok() ? info->messages : -2;
}

TEST(RuntimeTest, RoutesEveryQueueToItsDriverAndPlugin) {
  auto rt = make_runtime(kBaseYaml);
  ASSERT_TRUE(rt);
  auto routes = rt->routes();
  // Each queue, then the `<queue>.dead` the core declares beside it (no dead_letter.queue given).
  ASSERT_EQ(routes.size(), 4u);
  EXPECT_EQ(routes[0].queue_id, "app:tasks");
  EXPECT_EQ(routes[0].queue_name, "tasks");
  EXPECT_EQ(routes[0].driver_id, "app:mem");
  EXPECT_EQ(routes[0].driver_name, "memory");
  EXPECT_THAT(routes[0].plugin_file, HasSubstr("qplug_memory.so"));
  EXPECT_EQ(routes[0].dead_letter, "app:tasks.dead");
  EXPECT_FALSE(routes[0].dead_letter_configured);
  EXPECT_EQ(routes[1].queue_id, "app:tasks.dead");
  EXPECT_EQ(routes[1].queue_name, "tasks.dead");
  EXPECT_TRUE(routes[1].auto_declared);
  EXPECT_EQ(routes[1].dead_letter, "");
  EXPECT_EQ(routes[2].codec, "msgpack");
  EXPECT_EQ(routes[3].queue_id, "app:packed.dead");
  EXPECT_EQ(routes[3].codec, "msgpack");
}

TEST(RuntimeTest, PublishLandsInTheQueue) {
  auto rt = make_runtime(kBaseYaml);
  ASSERT_TRUE(rt);
  Status s =
      rt->publish("app:tasks", Map{{"action", "send_email"}, {"user_id", 456}}, {{"priority", std::string("high")}});
  ASSERT_TRUE(s.ok()) << s.to_string();
  ASSERT_TRUE(rt->publish("app:packed", Value("text")).ok());
  EXPECT_EQ(ready_count(*rt, "app:tasks"), 1);
  EXPECT_EQ(ready_count(*rt, "app:packed"), 1);
}

TEST(RuntimeTest, QueueIdErrors) {
  auto rt = make_runtime(kBaseYaml);
  ASSERT_TRUE(rt);
  Status empty = rt->publish("", Value(1));
  EXPECT_EQ(empty.kind(), ErrorKind::INVALID);
  EXPECT_EQ(empty.message(), "queue ID is empty");
  EXPECT_FALSE(empty.retryable());

  Status malformed = rt->publish("no-namespace", Value(1));
  EXPECT_EQ(malformed.kind(), ErrorKind::INVALID) << malformed.to_string();

  Status unknown = rt->publish("app:nope", Value(1));
  EXPECT_EQ(unknown.kind(), ErrorKind::NOT_FOUND);
  EXPECT_THAT(unknown.message(), HasSubstr("app:nope"));

  EXPECT_EQ(rt->info("app:nope").status().kind(), ErrorKind::NOT_FOUND);
  EXPECT_EQ(rt->subscribe("app:nope", {}, [](Delivery&) { return ok_status(); }).status().kind(), ErrorKind::NOT_FOUND);
}

TEST(RuntimeTest, EmptyDataIsInvalid) {
  auto rt = make_runtime(kBaseYaml);
  ASSERT_TRUE(rt);
  for (const Value& v : {Value(), Value(Map{}), Value(Array{})}) {
    Status s = rt->publish("app:tasks", v);
    EXPECT_EQ(s.kind(), ErrorKind::INVALID);
    EXPECT_EQ(s.message(), "message data is empty");
  }
  EXPECT_EQ(rt->publish_batch("app:tasks", {}).kind(), ErrorKind::INVALID);
  EXPECT_EQ(ready_count(*rt, "app:tasks"), 0);
}

TEST(RuntimeTest, PublishBatchIsOneCallAndAssignsIds) {
  auto rt = make_runtime(kBaseYaml);
  ASSERT_TRUE(rt);
  std::vector<Message> batch(3);
  for (auto& m : batch) m.body = R"({"n":1})";
  ASSERT_TRUE(rt->publish_batch("app:tasks", batch).ok());
  EXPECT_EQ(ready_count(*rt, "app:tasks"), 3);
}

TEST(RuntimeTest, PublishAsyncCompletesExactlyOnce) {
  auto rt = make_runtime(kBaseYaml);
  ASSERT_TRUE(rt);
  std::vector<Message> batch(2);
  for (auto& m : batch) m.body = R"("x")";
  std::atomic<int> calls{0};
  std::promise<Status> result;
  rt->publish_async("app:tasks", batch, [&](Status s) {
    if (calls.fetch_add(1) == 0) result.set_value(std::move(s));
  });
  Status s = result.get_future().get();
  EXPECT_TRUE(s.ok()) << s.to_string();

  std::promise<Status> failed;
  rt->publish_async("app:nope", batch, [&](Status s2) {
    calls.fetch_add(1);
    failed.set_value(std::move(s2));
  });
  EXPECT_EQ(failed.get_future().get().kind(), ErrorKind::NOT_FOUND);
  rt->stop();  // close() completes every pending callback
  EXPECT_EQ(calls.load(), 2);
  EXPECT_EQ(rt->publish("app:tasks", Value(1)).kind(), ErrorKind::CANCELED);
}

TEST(RuntimeTest, FullQueueIsRetryable) {
  auto rt = make_runtime(R"(
version: 1
namespace: app
entries:
  - {kind: queue.driver.memory, name: mem}
  - kind: queue.queue
    name: small
    driver: mem
    driver_options: {memory: {max_length: 1, publish_timeout_ms: 0}}
)");
  ASSERT_TRUE(rt);
  ASSERT_TRUE(rt->publish("app:small", Value(1)).ok());
  Status s = rt->publish("app:small", Value(2));
  EXPECT_EQ(s.kind(), ErrorKind::FULL) << s.to_string();
  EXPECT_TRUE(s.retryable());
  EXPECT_THAT(s.message(), HasSubstr("app:small"));
}

TEST(RuntimeTest, UnknownDriverNamesTheEntryAndFile) {
  auto cfg = parse_config(R"(
version: 1
namespace: app
entries:
  - {kind: queue.driver.nosuchdriver, name: broker}
)",
                          "bad.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status().to_string();
  auto rt = Runtime::create(std::move(*cfg));
  ASSERT_FALSE(rt.ok());
  EXPECT_EQ(rt.status().kind(), ErrorKind::INVALID);
  EXPECT_THAT(rt.status().message(), HasSubstr("app:broker"));
  EXPECT_THAT(rt.status().message(), HasSubstr("bad.yaml:5"));
  EXPECT_THAT(rt.status().message(), HasSubstr("nosuchdriver"));
}

TEST(RuntimeTest, DriverAndQueueOptionErrorsCarryThePluginMessage) {
  auto cfg = parse_config(R"(
version: 1
namespace: app
entries:
  - {kind: queue.driver.memory, name: mem, bogus_setting: 1}
)",
                          "drv.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status().to_string();
  auto rt = Runtime::create(std::move(*cfg));
  ASSERT_FALSE(rt.ok());
  EXPECT_EQ(rt.status().kind(), ErrorKind::INVALID);
  EXPECT_THAT(rt.status().message(), HasSubstr("app:mem"));
  EXPECT_THAT(rt.status().message(), HasSubstr("drv.yaml:5"));
  EXPECT_THAT(rt.status().message(), HasSubstr("bogus_setting"));

  auto cfg2 = parse_config(R"(
version: 1
namespace: app
entries:
  - {kind: queue.driver.memory, name: mem}
  - kind: queue.queue
    name: q
    driver: mem
    driver_options: {memory: {nope: 1}}
)",
                           "q.yaml");
  ASSERT_TRUE(cfg2.ok()) << cfg2.status().to_string();
  auto rt2 = Runtime::create(std::move(*cfg2));
  ASSERT_FALSE(rt2.ok());
  EXPECT_THAT(rt2.status().message(), HasSubstr("app:q"));
  EXPECT_THAT(rt2.status().message(), HasSubstr("nope"));
}

const char* kSecuredYaml = R"(
version: 1
namespace: app
entries:
  - {kind: queue.driver.memory, name: mem}
  - {kind: queue.queue, name: tasks, driver: mem}
  - {kind: queue.queue, name: audit, driver: mem}
  - kind: security.policy
    name: publish_tasks
    policy: {actions: "queue.publish*", resources: "app:tasks", effect: allow}
  - kind: security.policy
    name: no_publish
    policy: {actions: queue.publish, effect: deny}
)";

TEST(RuntimeTest, PermissionsAreCheckedGeneralThenQueue) {
  auto rt = make_runtime(kSecuredYaml);
  ASSERT_TRUE(rt);
  Actor worker{"worker", {}};
  SecurityContext allowed{&worker, {"app:publish_tasks"}};
  EXPECT_TRUE(rt->publish("app:tasks", Value(1), {}, &allowed).ok());

  Status other = rt->publish("app:audit", Value(1), {}, &allowed);
  EXPECT_EQ(other.kind(), ErrorKind::PERMISSION_DENIED);
  EXPECT_FALSE(other.retryable());
  EXPECT_THAT(other.message(), HasSubstr("queue.publish.queue"));
  EXPECT_THAT(other.message(), HasSubstr("app:audit"));

  SecurityContext denied{&worker, {"app:publish_tasks", "app:no_publish"}};
  Status general = rt->publish("app:tasks", Value(1), {}, &denied);
  EXPECT_EQ(general.kind(), ErrorKind::PERMISSION_DENIED);
  EXPECT_THAT(general.message(), HasSubstr("'queue.publish'"));
  EXPECT_THAT(general.message(), HasSubstr("app:no_publish"));
  EXPECT_EQ(ready_count(*rt, "app:tasks"), 1);
  EXPECT_EQ(ready_count(*rt, "app:audit"), 0);
}

TEST(RuntimeTest, StrictSecurityDeniesTheHostToo) {
  auto rt = make_runtime(R"(
version: 1
namespace: app
security: {strict: true}
entries:
  - {kind: queue.driver.memory, name: mem}
  - {kind: queue.queue, name: tasks, driver: mem}
)");
  ASSERT_TRUE(rt);
  EXPECT_EQ(rt->publish("app:tasks", Value(1)).kind(), ErrorKind::PERMISSION_DENIED);
}

}  // namespace
}  // namespace qplug
