// ${VAR} and ${VAR:-default} in config scalars, expanded from the
// environment before values are interpreted; unset without default is an
// error naming the variable, the file and the line.
#include "config/env_expand.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <qplug/config.hpp>

namespace qplug::config {
namespace {

std::optional<std::string> fake_env(const std::string& name) {
  static const std::map<std::string, std::string> kEnv = {{"HOST", "broker.local"}, {"PORT", "5672"}, {"EMPTY", ""}};
  auto it = kEnv.find(name);
  if (it == kEnv.end()) return std::nullopt;
  return it->second;
}

std::string expand(std::string_view text) {
  std::string error;
  std::optional<std::string> out = expand_env(text, fake_env, &error);
  return out ? *out : "ERROR: " + error;
}

TEST(EnvExpand, ReplacesVariables) {
  EXPECT_EQ(expand("amqp://${HOST}:${PORT}/"), "amqp://broker.local:5672/");
  EXPECT_EQ(expand("${HOST}"), "broker.local");
  EXPECT_EQ(expand("no variables"), "no variables");
  EXPECT_EQ(expand("[${EMPTY}]"), "[]");  // set but empty is kept
}

TEST(EnvExpand, DefaultsApplyWhenUnsetOrEmpty) {
  EXPECT_EQ(expand("${NOPE:-guest}"), "guest");
  EXPECT_EQ(expand("${EMPTY:-fallback}"), "fallback");
  EXPECT_EQ(expand("${HOST:-other}"), "broker.local");
  EXPECT_EQ(expand("${NOPE:-}"), "");
  EXPECT_EQ(expand("${NOPE:-a:b/c d}"), "a:b/c d");
}

TEST(EnvExpand, DollarDollarIsALiteralDollarAndALoneDollarStays) {
  EXPECT_EQ(expand("pa$$word"), "pa$word");
  EXPECT_EQ(expand("$${HOST}"), "${HOST}");
  EXPECT_EQ(expand("pa$word"), "pa$word");
  EXPECT_EQ(expand("cost: 5$"), "cost: 5$");
}

TEST(EnvExpand, UnsetVariableIsAnErrorNamingIt) {
  EXPECT_EQ(expand("x${DB_PASS}y"),
            "ERROR: environment variable 'DB_PASS' is not set (used as ${DB_PASS}; set it, or give a default: "
            "${DB_PASS:-value})");
}

TEST(EnvExpand, MalformedReferencesAreErrors) {
  EXPECT_NE(expand("${HOST").find("without a closing '}'"), std::string::npos);
  EXPECT_NE(expand("${}").find("is not a variable reference"), std::string::npos);
  EXPECT_NE(expand("${1X}").find("is not a variable reference"), std::string::npos);
  EXPECT_NE(expand("${HO-ST}").find("is not a variable reference"), std::string::npos);
}

constexpr const char* kConfig =
    "version: 1\n"
    "namespace: app\n"
    "entries:\n"
    "  - kind: queue.driver.memory\n"
    "    name: mem\n"
    "    publish_timeout: ${QPLUG_ENV_TEST_TIMEOUT:-250ms}\n"
    "  - kind: queue.queue\n"
    "    name: ${QPLUG_ENV_TEST_QUEUE}\n"
    "    driver: mem\n";

TEST(EnvExpandConfig, ExpandsBeforeValuesAreInterpreted) {
  ::setenv("QPLUG_ENV_TEST_QUEUE", "tasks", 1);
  ::unsetenv("QPLUG_ENV_TEST_TIMEOUT");
  auto cfg = parse_config(kConfig, "app.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status().to_string();
  ASSERT_EQ(cfg->queues.size(), 1u);
  EXPECT_EQ(cfg->queues[0].id, "app:tasks");
  ASSERT_EQ(cfg->drivers.size(), 1u);
  bool found = false;
  for (const auto& [k, v] : cfg->drivers[0].settings) {
    if (k == "publish_timeout") {
      EXPECT_EQ(v, "250ms");
      found = true;
    }
  }
  EXPECT_TRUE(found);
  ::unsetenv("QPLUG_ENV_TEST_QUEUE");
}

TEST(EnvExpandConfig, UnsetVariableNamesVariableFileAndLine) {
  ::unsetenv("QPLUG_ENV_TEST_QUEUE");
  auto cfg = parse_config(kConfig, "app.yaml");
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().kind(), ErrorKind::INVALID);
  const std::string msg = cfg.status().message();
  EXPECT_NE(msg.find("app.yaml:8:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'QPLUG_ENV_TEST_QUEUE' is not set"), std::string::npos) << msg;
}

TEST(EnvExpandConfig, ASharedAliasedScalarIsExpandedOnce) {
  // Both entries share one node through the YAML alias: "$$" must become one
  // '$' once, not be read again as the start of a reference.
  auto cfg = parse_config(
      "version: 1\nnamespace: app\nentries:\n"
      "  - {kind: queue.driver.memory, name: a, client: &v 'x$${Y}'}\n"
      "  - {kind: queue.driver.memory, name: b, client: *v}\n",
      "app.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status().to_string();
  ASSERT_EQ(cfg->drivers.size(), 2u);
  for (const auto& d : cfg->drivers) {
    ASSERT_EQ(d.settings.size(), 1u);
    EXPECT_EQ(d.settings[0].first, "client");
    EXPECT_EQ(d.settings[0].second, "x${Y}");
  }
}

}  // namespace
}  // namespace qplug::config
