// qplug/security.hpp -- the permission evaluator (DESIGN.md section 6).
//
// An actor (from the running consumer or script entry) carries a list of
// policy IDs. evaluate() applies them to one (action, resource) pair:
//  - a matching deny wins over any allow;
//  - with at least one policy attached, no matching allow means deny;
//  - an actor with no policies is allowed, unless security.strict is set
//    (then everything not explicitly allowed is denied);
//  - a config with no policies at all runs permissive.
// Globs: '*' matches any run of characters (including '.' and ':'), '?' one
// character; everything else literally, so "queue.publish.*" matches
// "queue.publish.queue" but not "queue.publisher".
#pragma once

#include <qplug/config.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace qplug {

struct Decision {
  bool allowed = false;
  std::string policy;  // ID of the policy that decided; empty for a default
  std::string reason;  // human-readable: "denied by policy app:no_publish" / "allowed: no policies (permissive)"
};

bool glob_match(std::string_view pattern, std::string_view text);

class PolicyEvaluator {
 public:
  explicit PolicyEvaluator(const Config& config);
  // `policy_ids` are the full IDs attached to the actor's entry (unknown IDs
  // were rejected when the config loaded). actor may be nullptr (the host).
  Decision evaluate(const Actor* actor, const std::vector<std::string>& policy_ids, std::string_view action,
                    std::string_view resource) const;

 private:
  const Config* config_;
};

}  // namespace qplug
