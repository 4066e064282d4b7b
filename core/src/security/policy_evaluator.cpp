// The permission evaluator (DESIGN.md section 6, rules in security.hpp and
// docs/security.md).
#include <qplug/security.hpp>

namespace qplug {
namespace {

bool any_glob(const std::vector<std::string>& patterns, std::string_view text) {
  for (const std::string& p : patterns) {
    if (glob_match(p, text)) return true;
  }
  return false;
}

// Conditions are globs over the actor: actor.id and actor.meta.<key>. Without an
// actor, or without the meta key, a condition does not hold.
bool conditions_hold(const PolicyEntry& p, const Actor* actor) {
  constexpr std::string_view kMetaPrefix = "actor.meta.";
  for (const auto& [key, pattern] : p.conditions) {
    if (actor == nullptr) return false;
    if (key == "actor.id") {
      if (!glob_match(pattern, actor->id)) return false;
    } else if (key.compare(0, kMetaPrefix.size(), kMetaPrefix) == 0) {
      auto it = actor->meta.find(key.substr(kMetaPrefix.size()));
      if (it == actor->meta.end() || !glob_match(pattern, it->second)) return false;
    } else {
      return false;  // the loader rejects unknown keys; be safe if built by hand
    }
  }
  return true;
}

// A request without a resource (the general "queue.publish" check) is not
// narrowed by a policy's resources; an empty resources list means any resource.
bool policy_matches(const PolicyEntry& p, const Actor* actor, std::string_view action, std::string_view resource) {
  if (!any_glob(p.actions, action)) return false;
  if (!resource.empty() && !p.resources.empty() && !any_glob(p.resources, resource)) return false;
  return conditions_hold(p, actor);
}

}  // namespace

PolicyEvaluator::PolicyEvaluator(const Config& config) : config_(&config) {}

Decision PolicyEvaluator::evaluate(const Actor* actor, const std::vector<std::string>& policy_ids,
                                   std::string_view action, std::string_view resource) const {
  if (policy_ids.empty()) {
    if (config_->strict_security) return {false, "", "denied: no policies attached (strict mode)"};
    if (config_->policies.empty()) return {true, "", "allowed: no policies (permissive)"};
    return {true, "", "allowed: actor has no policies (permissive)"};
  }
  const PolicyEntry* allowed_by = nullptr;
  for (const std::string& id : policy_ids) {
    const PolicyEntry* p = config_->find_policy(id);
    if (p == nullptr) return {false, id, "denied: unknown policy " + id};
    if (!policy_matches(*p, actor, action, resource)) continue;
    if (!p->allow) return {false, p->id, "denied by policy " + p->id};
    if (allowed_by == nullptr) allowed_by = p;
  }
  if (allowed_by != nullptr) return {true, allowed_by->id, "allowed by policy " + allowed_by->id};
  return {false, "",
          "denied: no attached policy allows it (" + std::to_string(policy_ids.size()) +
              (policy_ids.size() == 1 ? " policy" : " policies") + " checked)"};
}

}  // namespace qplug
