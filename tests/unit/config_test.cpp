// The YAML config loader: every entry kind, reference resolution, directories
// of files, and errors that name file, line and entry.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <qplug/config.hpp>
#include <random>

namespace qplug {
namespace {

namespace fs = std::filesystem;

// A fresh temporary directory per test, removed afterwards.
class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("qplug_config_test_" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string write(const std::string& name, const std::string& text) {
    const fs::path p = dir_ / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }
  // Loads `text` as app.yaml and expects an error containing every `parts`.
  void expect_error(const std::string& text, std::initializer_list<std::string> parts) {
    const std::string file = write("app.yaml", text);
    Result<Config> r = load_config(file);
    ASSERT_FALSE(r.ok()) << "expected an error for:\n" << text;
    EXPECT_EQ(r.status().kind(), ErrorKind::INVALID) << r.status().to_string();
    for (const std::string& part : parts) {
      EXPECT_NE(r.status().message().find(part), std::string::npos)
          << "missing '" << part << "' in: " << r.status().message();
    }
  }
  std::string path(const std::string& rel) const { return (dir_ / rel).lexically_normal().string(); }
  fs::path dir_;
};

constexpr const char* kFullConfig = R"(version: "1.0"
namespace: app
entries:
  - name: broker
    kind: queue.driver.amqp
    url: amqp://guest:guest@127.0.0.1:5690/
    reconnect:
      initial_delay: 100ms
      max_delay: 5s
    tls:
      enabled: true
    hosts: [a, b, c]
    servers:
      - {host: x, port: 1}
      - {host: y, port: 2}
    password: ~
  - id: mem
    kind: queue.driver.memory
    plugin: ../plugins/libqplug_memory.so
  - name: tasks
    kind: queue.queue
    driver: broker
    codec: application/msgpack
    driver_options:
      amqp: {durable: true, arguments: {x-max-length: 1000}}
      redis: {maxlen: 10}
    dead_letter: {queue: tasks_dlq, max_attempts: 5}
    retry: {max_attempts: 4, initial_backoff: 250ms, max_backoff: 2s, multiplier: 1.5}
  - name: tasks_dlq
    kind: queue.queue
    driver: app:mem
    queue_name: tasks.dead
  - name: handle
    kind: function.lua
    source: handlers/email.lua
    method: handle_email
    modules: [json, time]
  - name: email_consumer
    kind: queue.consumer
    queue: tasks
    func: handle
    concurrency: 4
    prefetch: 32
    auto_ack: true
    group: workers
    driver_options:
      amqp: {exclusive: false}
    security:
      actor: {id: mailer, meta: {team: ops}}
      policies: [can_publish, app:no_secret]
    lifecycle: {auto_start: false, depends_on: [tasks, app:broker]}
  - name: seed_consumer
    kind: queue.consumer
    queue: app:tasks
    source: file://handlers/seed.lua
    method: handle_email
    lifecycle:
      security:
        actor: {id: seed}
        policies: can_publish
  - name: publisher
    kind: process.lua
    source: /abs/publisher.lua
    method: main
    lifecycle:
      auto_start: true
    security:
      actor: {id: pub}
      policies: [can_publish]
  - name: can_publish
    kind: security.policy
    policy:
      actions: [queue.publish, "queue.publish.*"]
      resources: "app:*"
      effect: allow
      conditions: {actor.meta.team: "ops*", actor.id: "*"}
  - name: no_secret
    kind: security.policy
    meta: {comment: "documentation only"}
    policy: {actions: "*", effect: deny, resources: ["app:secret*"]}
)";

TEST_F(ConfigTest, LoadsEveryEntryKind) {
  const std::string file = write("cfg/app.yaml", kFullConfig);
  Result<Config> r = load_config(file);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  const Config& c = r.value();
  EXPECT_EQ(c.base_dir, path("cfg"));
  EXPECT_FALSE(c.strict_security);

  const DriverEntry* broker = c.find_driver("app:broker");
  ASSERT_NE(broker, nullptr);
  EXPECT_EQ(broker->driver, "amqp");
  EXPECT_EQ(broker->plugin, "");
  EXPECT_EQ(broker->where.file, file);
  EXPECT_EQ(broker->where.line, 4);
  const KeyValues expected_settings = {{"url", "amqp://guest:guest@127.0.0.1:5690/"},
                                       {"reconnect.initial_delay", "100ms"},
                                       {"reconnect.max_delay", "5s"},
                                       {"tls.enabled", "true"},
                                       {"hosts", "a,b,c"},
                                       {"servers.0.host", "x"},
                                       {"servers.0.port", "1"},
                                       {"servers.1.host", "y"},
                                       {"servers.1.port", "2"},
                                       {"password", ""}};
  EXPECT_EQ(broker->settings, expected_settings);
  const DriverEntry* mem = c.find_driver("app:mem");
  ASSERT_NE(mem, nullptr);
  EXPECT_EQ(mem->driver, "memory");
  EXPECT_EQ(mem->plugin, path("plugins/libqplug_memory.so"));
  EXPECT_TRUE(mem->settings.empty());

  const QueueEntry* tasks = c.find_queue("app:tasks");
  ASSERT_NE(tasks, nullptr);
  EXPECT_EQ(tasks->driver, "app:broker");
  EXPECT_EQ(tasks->queue_name, "tasks");
  EXPECT_EQ(tasks->codec, "msgpack");
  const KeyValues expected_options = {{"durable", "true"}, {"arguments.x-max-length", "1000"}};
  EXPECT_EQ(tasks->driver_options, expected_options);  // only the amqp block, unprefixed
  EXPECT_EQ(tasks->dead_letter.queue, "app:tasks_dlq");
  EXPECT_EQ(tasks->dead_letter.max_attempts, 5);
  EXPECT_EQ(tasks->retry.max_attempts, 4);
  EXPECT_EQ(tasks->retry.initial_backoff_ms, 250);
  EXPECT_EQ(tasks->retry.max_backoff_ms, 2000);
  EXPECT_DOUBLE_EQ(tasks->retry.multiplier, 1.5);
  const QueueEntry* dlq = c.find_queue("app:tasks_dlq");
  ASSERT_NE(dlq, nullptr);
  EXPECT_EQ(dlq->queue_name, "tasks.dead");
  EXPECT_EQ(dlq->codec, "json");
  EXPECT_EQ(dlq->driver, "app:mem");
  EXPECT_EQ(dlq->dead_letter.queue, "");
  // Defaults: finite retries with exponential backoff (docs/configuration.md, "Retry").
  EXPECT_EQ(dlq->retry.max_attempts, 5);
  EXPECT_EQ(dlq->retry.initial_backoff_ms, 1000);
  EXPECT_EQ(dlq->retry.max_backoff_ms, 300000);
  EXPECT_DOUBLE_EQ(dlq->retry.multiplier, 2.0);

  const FunctionEntry* fn = c.find_function("app:handle");
  ASSERT_NE(fn, nullptr);
  EXPECT_EQ(fn->handler.source, path("cfg/handlers/email.lua"));
  EXPECT_EQ(fn->handler.method, "handle_email");
  EXPECT_EQ(fn->handler.modules, (std::vector<std::string>{"json", "time"}));

  ASSERT_EQ(c.consumers.size(), 2u);
  const ConsumerEntry& ec = c.consumers[0];
  EXPECT_EQ(ec.id, "app:email_consumer");
  EXPECT_EQ(ec.queue, "app:tasks");
  EXPECT_EQ(ec.handler.func, "app:handle");
  EXPECT_EQ(ec.handler.source, path("cfg/handlers/email.lua"));  // filled in from the function
  EXPECT_EQ(ec.handler.method, "handle_email");
  EXPECT_EQ(ec.concurrency, 4);
  EXPECT_EQ(ec.prefetch, 32);
  EXPECT_TRUE(ec.auto_ack);
  EXPECT_EQ(ec.group, "workers");
  EXPECT_EQ(ec.driver_options, (KeyValues{{"exclusive", "false"}}));
  ASSERT_TRUE(ec.security.actor.has_value());
  EXPECT_EQ(ec.security.actor->id, "mailer");
  EXPECT_EQ(ec.security.actor->meta.at("team"), "ops");
  EXPECT_EQ(ec.security.policies, (std::vector<std::string>{"app:can_publish", "app:no_secret"}));
  EXPECT_FALSE(ec.auto_start);
  EXPECT_EQ(ec.depends_on, (std::vector<std::string>{"app:tasks", "app:broker"}));

  const ConsumerEntry& seed = c.consumers[1];
  EXPECT_EQ(seed.handler.func, "");
  EXPECT_EQ(seed.handler.source, path("cfg/handlers/seed.lua"));
  EXPECT_EQ(seed.handler.method, "handle_email");
  EXPECT_EQ(seed.concurrency, 1);
  EXPECT_EQ(seed.prefetch, 10);
  EXPECT_FALSE(seed.auto_ack);
  EXPECT_TRUE(seed.auto_start);
  ASSERT_TRUE(seed.security.actor.has_value());
  EXPECT_EQ(seed.security.actor->id, "seed");
  EXPECT_EQ(seed.security.policies, (std::vector<std::string>{"app:can_publish"}));

  ASSERT_EQ(c.processes.size(), 1u);
  EXPECT_EQ(c.processes[0].handler.source, "/abs/publisher.lua");
  EXPECT_EQ(c.processes[0].handler.method, "main");
  EXPECT_TRUE(c.processes[0].auto_start);
  EXPECT_EQ(c.processes[0].security.actor->id, "pub");

  const PolicyEntry* can = c.find_policy("app:can_publish");
  ASSERT_NE(can, nullptr);
  EXPECT_EQ(can->actions, (std::vector<std::string>{"queue.publish", "queue.publish.*"}));
  EXPECT_EQ(can->resources, (std::vector<std::string>{"app:*"}));
  EXPECT_TRUE(can->allow);
  EXPECT_EQ(can->conditions.at("actor.meta.team"), "ops*");
  const PolicyEntry* no = c.find_policy("app:no_secret");
  ASSERT_NE(no, nullptr);
  EXPECT_FALSE(no->allow);
  EXPECT_EQ(no->actions, (std::vector<std::string>{"*"}));
  EXPECT_EQ(c.find_policy("app:tasks"), nullptr);
}

TEST_F(ConfigTest, DirectoryIsOneRegistryAcrossNamespaces) {
  write("conf/10-drivers.yaml", "version: 1\nnamespace: infra\nentries:\n  - {name: mem, kind: queue.driver.memory}\n");
  write("conf/20-app.yml",
        "version: \"1.0\"\nnamespace: app\nentries:\n"
        "  - {name: tasks, kind: queue.queue, driver: infra:mem}\n"
        "  - {name: c, kind: queue.consumer, queue: tasks, source: h.lua, method: handle}\n");
  write("conf/30-security.yaml", "security: {strict: true}\n");
  write("conf/README.txt", "not yaml: [");
  write("conf/sub/ignored.yaml", "garbage: [");
  Result<Config> r = load_config(path("conf"));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_TRUE(r->strict_security);
  EXPECT_EQ(r->base_dir, path("conf"));
  ASSERT_NE(r->find_queue("app:tasks"), nullptr);
  EXPECT_EQ(r->find_queue("app:tasks")->driver, "infra:mem");
  EXPECT_EQ(r->consumers.at(0).handler.source, path("conf/h.lua"));
}

TEST_F(ConfigTest, ReferenceAcrossFilesMustExist) {
  write("conf/a.yaml", "namespace: app\nentries:\n  - {name: tasks, kind: queue.queue, driver: infra:mem}\n");
  Result<Config> r = load_config(path("conf"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            path("conf/a.yaml") + ":3: entry 'app:tasks' (queue.queue): driver 'infra:mem' not found");
}

TEST_F(ConfigTest, ParseConfigFromString) {
  Result<Config> r = parse_config(
      "namespace: app\nentries:\n  - {name: m, kind: queue.driver.memory}\n  - {name: q, kind: queue.queue, "
      "driver: m, codec: json/plain}\n",
      "mem.yaml");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->find_queue("app:q")->codec, "json");
  Result<Config> bad = parse_config("namespace: [", "x.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().rfind("x.yaml:1:", 0), 0u) << bad.status().message();
}

TEST_F(ConfigTest, MissingPathIsNotFound) {
  Result<Config> r = load_config(path("nope.yaml"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().kind(), ErrorKind::NOT_FOUND);
  fs::create_directories(dir_ / "empty");
  Result<Config> e = load_config(path("empty"));
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("no *.yaml"), std::string::npos);
}

constexpr const char* kHead =
    "version: \"1.0\"\nnamespace: app\nentries:\n  - {name: mem, kind: queue.driver.memory}\n";

struct ErrorRow {
  const char* name;
  std::string yaml;
  std::vector<std::string> parts;
};

TEST_F(ConfigTest, ErrorsNameFileLineAndEntry) {
  const std::string q = "  - {name: q, kind: queue.queue, driver: mem}\n";
  const std::string f = "  - {name: f, kind: function.lua, source: f.lua, method: m}\n";
  const std::vector<ErrorRow> rows = {
      {"malformed yaml", "namespace: app\nentries: [\n", {"app.yaml:3:"}},
      {"tab indentation", "namespace: app\nentries:\n\t- x\n", {"app.yaml:3:"}},
      {"empty file", "", {"config is empty"}},
      {"two documents", "namespace: a\n---\nnamespace: b\n", {"2 YAML documents"}},
      {"two marked documents", "# c\n---\nnamespace: a\n--- \nnamespace: b\n", {"2 YAML documents"}},
      {"yaml-cpp LoadAll trap", ",\n-\n", {"app.yaml"}},
      {"not a map", "- a\n- b\n", {"app.yaml:1: a config file must be a map"}},
      {"unknown top-level", "namespace: app\nentriez: []\n", {"app.yaml:2: unknown top-level field 'entriez'"}},
      {"bad version", "version: 2\nnamespace: app\n", {"app.yaml:1: unsupported version '2'"}},
      {"no namespace", "entries:\n  - {name: a, kind: queue.driver.memory}\n", {"'namespace' is required"}},
      {"bad namespace", "namespace: 'a b'\nentries: []\n", {"app.yaml:1: namespace 'a b' is not valid"}},
      {"entries not a list", "namespace: app\nentries: {a: 1}\n", {"app.yaml:2: 'entries' must be a list"}},
      {"entry not a map", "namespace: app\nentries:\n  - just a string\n", {"app.yaml:3: entry '#1'"}},
      {"missing kind", "namespace: app\nentries:\n  - {name: x}\n", {"app.yaml:3: entry '#1' (?): 'kind' is required"}},
      {"missing name",
       std::string(kHead) + "  - {kind: queue.queue, driver: mem}\n",
       {"app.yaml:5: entry '#2' (queue.queue): 'name' is required"}},
      {"name and id",
       std::string(kHead) + "  - {name: a, id: b, kind: queue.queue, driver: mem}\n",
       {"app.yaml:5:", "'name' or its synonym 'id'"}},
      {"bad name",
       std::string(kHead) + "  - {name: 'a b', kind: queue.queue, driver: mem}\n",
       {"app.yaml:5: entry '#2' (queue.queue):", "contains ' '"}},
      {"unknown kind",
       std::string(kHead) + "  - {name: x, kind: queue.topic}\n",
       {"app.yaml:5: entry 'app:x' (queue.topic): unknown entry kind 'queue.topic'"}},
      {"empty driver name", std::string(kHead) + "  - {name: x, kind: queue.driver.}\n", {"unknown entry kind"}},
      {"duplicate id",
       std::string(kHead) + "  - {name: mem, kind: queue.driver.redis}\n",
       {"app.yaml:5: entry 'app:mem' (queue.driver): duplicate ID: already defined at", "app.yaml:4"}},
      {"duplicate across kinds",
       std::string(kHead) + "  - {name: mem, kind: queue.queue, driver: mem}\n",
       {"app.yaml:5: entry 'app:mem' (queue.queue): duplicate ID"}},
      {"driver not found",
       std::string(kHead) + "  - {name: tasks, kind: queue.queue, driver: nope}\n",
       {"app.yaml:5: entry 'app:tasks' (queue.queue): driver 'app:nope' not found"}},
      {"driver missing",
       std::string(kHead) + "  - {name: tasks, kind: queue.queue}\n",
       {"app.yaml:5: entry 'app:tasks' (queue.queue): 'driver' is required"}},
      {"unknown queue field",
       std::string(kHead) + "  - name: tasks\n    kind: queue.queue\n    driver: mem\n"
                            "    durable: true\n",
       {"app.yaml:8: entry 'app:tasks' (queue.queue): unknown field 'durable'"}},
      {"bad codec",
       std::string(kHead) + "  - name: tasks\n    kind: queue.queue\n    driver: mem\n    codec: xml\n",
       {"app.yaml:8:", "unknown codec 'xml'"}},
      {"dead letter not found",
       std::string(kHead) + "  - {name: t, kind: queue.queue, driver: mem, dead_letter: {queue: dlq}}\n",
       {"app.yaml:5: entry 'app:t' (queue.queue): dead_letter.queue 'app:dlq' not found"}},
      {"dead letter self",
       std::string(kHead) + "  - {name: t, kind: queue.queue, driver: mem, dead_letter: {queue: t}}\n",
       {"must not be the queue itself"}},
      {"dead letter unknown field",
       std::string(kHead) + "  - {name: t, kind: queue.queue, driver: mem, dead_letter: {queu: x}}\n",
       {"unknown field 'dead_letter.queu'"}},
      {"bad max_attempts",
       std::string(kHead) + "  - {name: t, kind: queue.queue, driver: mem, dead_letter: {max_attempts: -1}}\n",
       {"'dead_letter.max_attempts' must be an integer"}},
      {"bad backoff",
       std::string(kHead) + "  - {name: t, kind: queue.queue, driver: mem, retry: {backoff: soon}}\n",
       {"'retry.backoff' must be a duration"}},
      {"backoff twice",
       std::string(kHead) + "  - {name: t, kind: queue.queue, driver: mem, retry: {backoff: 1, initial_backoff: 2}}\n",
       {"synonym"}},
      {"max below initial",
       std::string(kHead) + "  - {name: t, kind: queue.queue, driver: mem, retry: {backoff: 5s, max_backoff: 1s}}\n",
       {"'retry.max_backoff' is smaller"}},
      {"driver_options typo",
       std::string(kHead) + "  - {name: t, kind: queue.queue, driver: mem, driver_options: {memroy: {a: 1}}}\n",
       {"app.yaml:5: entry 'app:t' (queue.queue): driver_options for unknown driver type 'memroy'"}},
      {"driver_options flat",
       std::string(kHead) + "  - {name: t, kind: queue.queue, driver: mem, driver_options: {durable: true}}\n",
       {"'driver_options' maps driver types"}},
      {"consumer seed form without source",
       std::string(kHead) + q +
           "  - name: c\n    kind: queue.consumer\n"
           "    queue: q\n    method: handle_email\n",
       {"app.yaml:9: entry 'app:c' (queue.consumer): no handler: add 'func:'"}},
      {"consumer source without method",
       std::string(kHead) + q + "  - {name: c, kind: queue.consumer, queue: q, source: h.lua}\n",
       {"'source' needs 'method'"}},
      {"consumer func and source",
       std::string(kHead) + q + f + "  - {name: c, kind: queue.consumer, queue: q, func: f, source: h.lua}\n",
       {"not both"}},
      {"consumer func not found",
       std::string(kHead) + q + "  - {name: c, kind: queue.consumer, queue: q, func: g}\n",
       {"app.yaml:6: entry 'app:c' (queue.consumer): func 'app:g' not found"}},
      {"consumer queue not found",
       std::string(kHead) + f + "  - {name: c, kind: queue.consumer, queue: other:q, func: f}\n",
       {"app.yaml:6: entry 'app:c' (queue.consumer): queue 'other:q' not found"}},
      {"consumer bad concurrency",
       std::string(kHead) + q + f + "  - {name: c, kind: queue.consumer, queue: q, func: f, concurrency: 0}\n",
       {"'concurrency' must be an integer in [1, 1024]"}},
      {"consumer bad prefetch",
       std::string(kHead) + q + f + "  - {name: c, kind: queue.consumer, queue: q, func: f, prefetch: lots}\n",
       {"'prefetch' must be an integer"}},
      {"consumer bad auto_ack",
       std::string(kHead) + q + f + "  - {name: c, kind: queue.consumer, queue: q, func: f, auto_ack: maybe}\n",
       {"'auto_ack' must be a boolean"}},
      {"consumer unknown policy",
       std::string(kHead) + q + f +
           "  - {name: c, kind: queue.consumer, queue: q, func: f, security: {policies: [ghost]}}\n",
       {"app.yaml:7: entry 'app:c' (queue.consumer): policy 'app:ghost' not found"}},
      {"consumer security twice",
       std::string(kHead) + q + f +
           "  - {name: c, kind: queue.consumer, queue: q, func: f, security: {}, lifecycle: {security: {}}}\n",
       {"give 'security' once"}},
      {"consumer unknown limits field",
       std::string(kHead) + q + f +
           "  - {name: c, kind: queue.consumer, queue: q, func: f, limits: {max_instructoins: 5}}\n",
       {"app.yaml:7: entry 'app:c' (queue.consumer): unknown field 'limits.max_instructoins'"}},
      {"consumer negative instruction limit",
       std::string(kHead) + q + f +
           "  - {name: c, kind: queue.consumer, queue: q, func: f, limits: {max_instructions: -1}}\n",
       {"app.yaml:7:", "limits.max_instructions"}},
      {"consumer bad limits timeout",
       std::string(kHead) + q + f + "  - {name: c, kind: queue.consumer, queue: q, func: f, limits: {timeout: soon}}\n",
       {"app.yaml:7:", "'limits.timeout' must be a duration"}},
      {"consumer limits not a map",
       std::string(kHead) + q + f + "  - {name: c, kind: queue.consumer, queue: q, func: f, limits: 5}\n",
       {"app.yaml:7:", "limits"}},
      {"consumer unknown lifecycle field",
       std::string(kHead) + q + f + "  - {name: c, kind: queue.consumer, queue: q, func: f, lifecycle: {restart: 1}}\n",
       {"unknown field 'lifecycle.restart'"}},
      {"consumer depends_on missing",
       std::string(kHead) + q + f +
           "  - {name: c, kind: queue.consumer, queue: q, func: f, lifecycle: {depends_on: [nope]}}\n",
       {"lifecycle.depends_on 'app:nope' not found"}},
      {"actor without id",
       std::string(kHead) + q + f +
           "  - {name: c, kind: queue.consumer, queue: q, func: f, security: {actor: {meta: {a: b}}}}\n",
       {"'security.actor.id' is required"}},
      {"actor unknown field",
       std::string(kHead) + q + f +
           "  - {name: c, kind: queue.consumer, queue: q, func: f, security: {actor: {id: a, role: x}}}\n",
       {"unknown field 'security.actor.role'"}},
      {"function without method",
       std::string(kHead) + "  - {name: f, kind: function.lua, source: f.lua}\n",
       {"app.yaml:5: entry 'app:f' (function.lua): 'method' is required"}},
      {"function unknown field",
       std::string(kHead) + "  - {name: f, kind: function.lua, source: f.lua, method: m, pool: 3}\n",
       {"unknown field 'pool'"}},
      {"process without source",
       std::string(kHead) + "  - {name: p, kind: process.lua, method: main}\n",
       {"app.yaml:5: entry 'app:p' (process.lua): 'source' is required"}},
      {"process unknown policy",
       std::string(kHead) +
           "  - {name: p, kind: process.lua, source: p.lua, method: main, lifecycle: {security: {policies: x}}}\n",
       {"app.yaml:5: entry 'app:p' (process.lua): policy 'app:x' not found"}},
      {"policy missing body",
       std::string(kHead) + "  - {name: p, kind: security.policy}\n",
       {"app.yaml:5: entry 'app:p' (security.policy): 'policy' is required"}},
      {"policy bad effect",
       std::string(kHead) + "  - {name: p, kind: security.policy, policy: {actions: '*', effect: maybe}}\n",
       {"'policy.effect' must be allow or deny"}},
      {"policy no actions",
       std::string(kHead) + "  - {name: p, kind: security.policy, policy: {effect: deny}}\n",
       {"'policy.actions' is required"}},
      {"policy unknown condition",
       std::string(kHead) + "  - {name: p, kind: security.policy, policy: {actions: '*', conditions: {time: x}}}\n",
       {"unknown condition 'time'"}},
      {"policy unknown field",
       std::string(kHead) + "  - {name: p, kind: security.policy, policy: {actions: '*', resource: x}}\n",
       {"unknown field 'policy.resource'"}},
      {"strict not bool",
       "namespace: app\nsecurity: {strict: sometimes}\n",
       {"app.yaml:2: 'security.strict' must be a boolean"}},
      {"security unknown field", "namespace: app\nsecurity: {mode: strict}\n", {"unknown field 'security.mode'"}},
      {"duplicate field",
       std::string(kHead) + "  - {name: t, kind: queue.queue, driver: mem, codec: json, codec: json}\n",
       {"app.yaml:5: duplicate key 'entries[1].codec' (first at line 5)"}},
      // Issue 11: yaml-cpp keeps the first of two keys; the second `entries:`
      // list was dropped silently. Every level is checked.
      {"duplicate top-level entries",
       std::string(kHead) + "entries:\n  - {name: other, kind: queue.driver.memory}\n",
       {"app.yaml:5: duplicate key 'entries' (first at line 3)"}},
      {"duplicate nested setting",
       std::string(kHead) + "  - kind: queue.driver.redis\n    name: r\n    reconnect:\n      max_delay: 1s\n"
                            "      max_delay: 2s\n",
       {"app.yaml:9: duplicate key 'entries[1].reconnect.max_delay' (first at line 8)"}},
      {"duplicate key under an alias is reported once",
       "version: 1\nnamespace: app\nx: &a {k: 1, k: 2}\n",
       {"app.yaml:3: duplicate key 'x.k'"}},
  };
  for (const ErrorRow& row : rows) {
    SCOPED_TRACE(row.name);
    std::vector<std::string> parts = row.parts;
    // Every located error starts with the file's path.
    expect_error(row.yaml, {});
    for (const std::string& p : parts) expect_error(row.yaml, {p});
    expect_error(row.yaml, {path("app.yaml")});
  }
}

TEST_F(ConfigTest, AliasExpansionIsBounded) {
  std::string yaml = "namespace: app\nentries:\n  - name: d\n    kind: queue.driver.memory\n";
  yaml += "    l0: &l0 [[a, b], [c, d], [e, f], [g, h]]\n";
  for (int i = 1; i < 12; ++i) {
    const std::string p = "*l" + std::to_string(i - 1);
    yaml +=
        "    l" + std::to_string(i) + ": &l" + std::to_string(i) + " [" + p + ", " + p + ", " + p + ", " + p + "]\n";
  }
  Result<Config> r = parse_config(yaml, "bomb.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("more than 4096 settings"), std::string::npos) << r.status().message();
}

TEST_F(ConfigTest, LeadingDocumentMarkerIsOneDocument) {
  Result<Config> r = parse_config("%YAML 1.2\n# comment\n---\nnamespace: app\nentries: []\n...\n", "x.yaml");
  EXPECT_TRUE(r.ok()) << r.status().to_string();
}

TEST_F(ConfigTest, DriverNamesAndSettingsEdgeCases) {
  Result<Config> r = parse_config(
      "namespace: app\nentries:\n"
      "  - name: third\n    kind: queue.driver.my-broker_2\n    nested: {deep: {er: [1, 2]}}\n    empty_list: []\n",
      "x.yaml");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->drivers.at(0).driver, "my-broker_2");
  EXPECT_EQ(r->drivers.at(0).settings, (KeyValues{{"nested.deep.er", "1,2"}, {"empty_list", ""}}));
}

TEST_F(ConfigTest, DurationsAndBooleans) {
  Result<Config> r = parse_config(
      "namespace: app\nentries:\n  - {name: m, kind: queue.driver.memory}\n"
      "  - {name: q, kind: queue.queue, driver: m, retry: {backoff: 1.5s, max_backoff: 1m}}\n"
      "  - {name: q2, kind: queue.queue, driver: m, retry: {initial_backoff: 20, max_backoff: 1h}}\n"
      "  - {name: c, kind: queue.consumer, queue: q, source: a.lua, method: m, auto_ack: yes}\n",
      "x.yaml");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->find_queue("app:q")->retry.initial_backoff_ms, 1500);
  EXPECT_EQ(r->find_queue("app:q")->retry.max_backoff_ms, 60000);
  EXPECT_EQ(r->find_queue("app:q2")->retry.initial_backoff_ms, 20);
  EXPECT_EQ(r->find_queue("app:q2")->retry.max_backoff_ms, 3600000);
  EXPECT_TRUE(r->consumers.at(0).auto_ack);
}

TEST_F(ConfigTest, ConsumerLimitsAreOptionalPerField) {
  Result<Config> r = parse_config(
      "namespace: app\nentries:\n  - {name: m, kind: queue.driver.memory}\n"
      "  - {name: q, kind: queue.queue, driver: m}\n"
      "  - {name: both, kind: queue.consumer, queue: q, source: a.lua, method: m,"
      " limits: {max_instructions: 5000, timeout: 1.5s}}\n"
      "  - {name: unlimited, kind: queue.consumer, queue: q, source: a.lua, method: m,"
      " limits: {max_instructions: 0}}\n"
      "  - {name: none, kind: queue.consumer, queue: q, source: a.lua, method: m}\n",
      "x.yaml");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  const HandlerLimits& both = r->consumers.at(0).limits;
  EXPECT_EQ(both.max_instructions, std::optional<uint64_t>(5000));
  EXPECT_EQ(both.timeout_ms, std::optional<int64_t>(1500));
  EXPECT_EQ(r->consumers.at(1).limits.max_instructions, std::optional<uint64_t>(0));
  EXPECT_FALSE(r->consumers.at(1).limits.timeout_ms.has_value());
  EXPECT_FALSE(r->consumers.at(2).limits.max_instructions.has_value());
  EXPECT_FALSE(r->consumers.at(2).limits.timeout_ms.has_value());
}

TEST_F(ConfigTest, NeverCrashesOnOddInput) {
  const std::string inputs[] = {
      "~",
      "[]",
      "{}",
      "42",
      "namespace: app\nentries: ~\n",
      "namespace: app\nentries: []\n",
      "namespace: app\nentries:\n  - ~\n",
      "namespace: app\nentries:\n  - {name: [a], kind: queue.queue}\n",
      "namespace: app\nentries:\n  - {name: a, kind: [x]}\n",
      "namespace: {a: b}\n",
      "? [a]\n: b\n",
      "namespace: app\nentries:\n  - {name: a, kind: queue.driver.memory, ? [k] : v}\n",
      std::string(5000, '[') + std::string(5000, ']'),
      std::string(3000, '{'),
      "&a [*a]",
      "*unknown",
      "namespace: app\nentries:\n  - &e {name: a, kind: queue.driver.memory}\n  - *e\n",
  };
  for (const std::string& in : inputs) {
    Result<Config> r = parse_config(in, "odd.yaml");
    (void)r.ok();
  }
}

}  // namespace
}  // namespace qplug

namespace qplug {
namespace {

TEST(ConfigRetryDefaultsTest, ConsumerNameAndDeadLetterMaxAttemptsAreRead) {
  Result<Config> r = parse_config(R"(
version: 1
namespace: app
entries:
  - {kind: queue.driver.memory, name: mem}
  - {kind: queue.queue, name: a, driver: mem, dead_letter: {max_attempts: 7}}
  - {kind: queue.queue, name: b, driver: mem, dead_letter: {max_attempts: 7}, retry: {max_attempts: 2}}
  - {kind: queue.queue, name: c, driver: mem, retry: {max_attempts: 0}}
  - {kind: queue.consumer, name: w, queue: a, source: h.lua, method: f, consumer_name: resumable-1}
)",
                                  "retry.yaml");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->find_queue("app:a")->retry.max_attempts, 7)
      << "dead_letter.max_attempts applies when retry's is not given";
  EXPECT_EQ(r->find_queue("app:b")->retry.max_attempts, 2) << "retry.max_attempts wins";
  EXPECT_EQ(r->find_queue("app:c")->retry.max_attempts, 0) << "explicit unlimited";
  ASSERT_EQ(r->consumers.size(), 1u);
  EXPECT_EQ(r->consumers[0].consumer_name, "resumable-1");
}

}  // namespace
}  // namespace qplug
