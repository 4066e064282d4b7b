// The permission evaluator, table-driven: each row is one decision.
#include <gtest/gtest.h>

#include <qplug/security.hpp>

namespace qplug {
namespace {

TEST(GlobTest, Table) {
  struct Row {
    const char* pattern;
    const char* text;
    bool match;
  };
  const Row rows[] = {
      {"*", "", true},
      {"*", "anything:at.all", true},
      {"", "", true},
      {"", "x", false},
      {"queue.publish", "queue.publish", true},
      {"queue.publish", "queue.publisher", false},
      {"queue.publish.*", "queue.publish.queue", true},
      {"queue.publish.*", "queue.publisher", false},
      {"queue.publish.*", "queue.publish", false},
      {"queue.publish*", "queue.publisher", true},
      {"queue.*", "queue.publish.queue", true},  // '*' crosses dots
      {"app:*", "app:tasks", true},
      {"app:*", "app2:tasks", false},
      {"*:tasks", "app:tasks", true},
      {"*:tasks", "app:tasks2", false},
      {"app:t?sks", "app:tasks", true},
      {"app:t?sks", "app:tsks", false},
      {"a*b*c", "axxbyyc", true},
      {"a*b*c", "axxbyy", false},
      {"**", "x", true},
      {"*a", "bbbba", true},
      {"Queue.*", "queue.publish", false},  // case-sensitive
      {"a*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
  };
  for (const Row& r : rows) EXPECT_EQ(glob_match(r.pattern, r.text), r.match) << r.pattern << " vs " << r.text;
}

PolicyEntry policy(const std::string& id, std::vector<std::string> actions, std::vector<std::string> resources,
                   bool allow, std::map<std::string, std::string> conditions = {}) {
  PolicyEntry p;
  p.id = id;
  p.actions = std::move(actions);
  p.resources = std::move(resources);
  p.allow = allow;
  p.conditions = std::move(conditions);
  return p;
}

Config policy_config(bool strict) {
  Config c;
  c.strict_security = strict;
  c.policies = {
      policy("app:publish_all", {"queue.publish", "queue.publish.*"}, {}, true),
      policy("app:publish_tasks", {"queue.publish", "queue.publish.queue"}, {"app:tasks"}, true),
      policy("app:no_secret", {"queue.publish.*"}, {"app:secret*"}, false),
      policy("app:deny_all", {"*"}, {}, false),
      policy("app:publisher_only", {"queue.publisher"}, {}, true),
      policy("app:ops_only", {"queue.*"}, {"ops:*"}, true, {{"actor.meta.team", "ops"}}),
      policy("app:svc_actors", {"queue.publish*"}, {}, true, {{"actor.id", "svc-*"}}),
      policy("app:consume", {"queue.consume"}, {"app:*"}, true),
  };
  return c;
}

struct Row {
  const char* name;
  bool strict;
  const char* actor_id;  // nullptr: no actor (the host)
  std::map<std::string, std::string> meta;
  std::vector<std::string> policies;
  const char* action;
  const char* resource;
  bool allowed;
  const char* deciding_policy;  // "" for a default decision
};

TEST(PolicyEvaluatorTest, Table) {
  const Row rows[] = {
      // permissive default: no policies attached
      {"no policies attached", false, "svc", {}, {}, "queue.publish.queue", "app:tasks", true, ""},
      {"host with no policies", false, nullptr, {}, {}, "queue.publish", "", true, ""},
      // strict: deny-by-default, explicit allow still works
      {"strict, none attached", true, "svc", {}, {}, "queue.publish.queue", "app:tasks", false, ""},
      {"strict, allowed",
       true,
       "svc",
       {},
       {"app:publish_all"},
       "queue.publish.queue",
       "app:tasks",
       true,
       "app:publish_all"},
      {"strict, host", true, nullptr, {}, {}, "queue.publish", "", false, ""},
      // plain allow
      {"general check", false, "svc", {}, {"app:publish_all"}, "queue.publish", "", true, "app:publish_all"},
      {"queue check",
       false,
       "svc",
       {},
       {"app:publish_all"},
       "queue.publish.queue",
       "app:tasks",
       true,
       "app:publish_all"},
      // resources narrow the queue check but not the general one
      {"resource match",
       false,
       "svc",
       {},
       {"app:publish_tasks"},
       "queue.publish.queue",
       "app:tasks",
       true,
       "app:publish_tasks"},
      {"resource mismatch", false, "svc", {}, {"app:publish_tasks"}, "queue.publish.queue", "app:other", false, ""},
      {"general check ignores resources",
       false,
       "svc",
       {},
       {"app:publish_tasks"},
       "queue.publish",
       "",
       true,
       "app:publish_tasks"},
      // no matching allow once policies are attached -> deny
      {"attached but no match", false, "svc", {}, {"app:consume"}, "queue.publish.queue", "app:tasks", false, ""},
      // deny wins, whatever the order
      {"deny wins (after)",
       false,
       "svc",
       {},
       {"app:publish_all", "app:no_secret"},
       "queue.publish.queue",
       "app:secrets",
       false,
       "app:no_secret"},
      {"deny wins (before)",
       false,
       "svc",
       {},
       {"app:no_secret", "app:publish_all"},
       "queue.publish.queue",
       "app:secrets",
       false,
       "app:no_secret"},
      {"deny not matching",
       false,
       "svc",
       {},
       {"app:publish_all", "app:no_secret"},
       "queue.publish.queue",
       "app:tasks",
       true,
       "app:publish_all"},
      {"deny all", false, "svc", {}, {"app:publish_all", "app:deny_all"}, "queue.publish", "", false, "app:deny_all"},
      {"deny all strict", true, "svc", {}, {"app:deny_all"}, "queue.consume", "app:tasks", false, "app:deny_all"},
      // glob edge: queue.publish.* is not queue.publisher
      {"publish.* vs publisher",
       false,
       "svc",
       {},
       {"app:no_secret", "app:publisher_only"},
       "queue.publisher",
       "app:secret",
       true,
       "app:publisher_only"},
      {"publisher only", false, "svc", {}, {"app:publisher_only"}, "queue.publish", "", false, ""},
      // conditions on actor meta
      {"meta condition holds",
       false,
       "alice",
       {{"team", "ops"}},
       {"app:ops_only"},
       "queue.consume",
       "ops:alerts",
       true,
       "app:ops_only"},
      {"meta condition fails",
       false,
       "bob",
       {{"team", "dev"}},
       {"app:ops_only"},
       "queue.consume",
       "ops:alerts",
       false,
       ""},
      {"meta key missing", false, "bob", {}, {"app:ops_only"}, "queue.consume", "ops:alerts", false, ""},
      {"condition without actor", false, nullptr, {}, {"app:ops_only"}, "queue.consume", "ops:alerts", false, ""},
      // conditions on actor id (globs)
      {"actor.id glob holds",
       false,
       "svc-billing",
       {},
       {"app:svc_actors"},
       "queue.publish.queue",
       "any:q",
       true,
       "app:svc_actors"},
      {"actor.id glob fails", false, "user-1", {}, {"app:svc_actors"}, "queue.publish.queue", "any:q", false, ""},
      // unknown policy ID (built by hand) is a deny, never a skip
      {"unknown policy", false, "svc", {}, {"app:ghost"}, "queue.publish", "", false, "app:ghost"},
      // first matching allow is the deciding one
      {"first allow decides",
       false,
       "svc",
       {},
       {"app:consume", "app:publish_tasks", "app:publish_all"},
       "queue.publish.queue",
       "app:tasks",
       true,
       "app:publish_tasks"},
  };
  for (const Row& r : rows) {
    const Config config = policy_config(r.strict);
    PolicyEvaluator evaluator(config);
    Actor actor{r.actor_id == nullptr ? "" : r.actor_id, r.meta};
    const Decision d = evaluator.evaluate(r.actor_id == nullptr ? nullptr : &actor, r.policies, r.action, r.resource);
    EXPECT_EQ(d.allowed, r.allowed) << r.name << ": " << d.reason;
    EXPECT_EQ(d.policy, r.deciding_policy) << r.name << ": " << d.reason;
    EXPECT_FALSE(d.reason.empty()) << r.name;
  }
}

TEST(PolicyEvaluatorTest, ConfigWithoutPoliciesIsPermissive) {
  Config empty;
  PolicyEvaluator evaluator(empty);
  Decision d = evaluator.evaluate(nullptr, {}, "queue.publish", "");
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.reason, "allowed: no policies (permissive)");
  empty.strict_security = true;
  EXPECT_FALSE(evaluator.evaluate(nullptr, {}, "queue.publish", "").allowed);
}

TEST(PolicyEvaluatorTest, ReasonsNameThePolicy) {
  const Config config = policy_config(false);
  PolicyEvaluator evaluator(config);
  Actor a{"svc", {}};
  EXPECT_EQ(evaluator.evaluate(&a, {"app:deny_all"}, "queue.publish", "").reason, "denied by policy app:deny_all");
  EXPECT_EQ(evaluator.evaluate(&a, {"app:publish_all"}, "queue.publish", "").reason,
            "allowed by policy app:publish_all");
}

}  // namespace
}  // namespace qplug
