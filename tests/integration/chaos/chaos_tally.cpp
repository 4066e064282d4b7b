// tests/integration/chaos/chaos_tally.cpp -- see chaos_tally.hpp.
#include "chaos_tally.hpp"

#include <map>
#include <set>

#include "child_process.hpp"

namespace qplug::chaos {

namespace {
constexpr size_t kLostIdsShown = 20;
}

Tally tally(const std::vector<std::string>& published_files, const std::vector<std::string>& processed_files) {
  std::set<std::string> published;
  for (const std::string& f : published_files) {
    for (std::string& id : qplug::testing::whole_lines(f)) published.insert(std::move(id));
  }
  std::map<std::string, size_t> times;  // ID -> how often it was processed
  for (const std::string& f : processed_files) {
    for (std::string& id : qplug::testing::whole_lines(f)) ++times[std::move(id)];
  }
  Tally t;
  t.published = published.size();
  t.processed = times.size();
  for (const std::string& id : published) {
    if (times.count(id) != 0) continue;
    ++t.lost;
    if (t.lost_ids.size() < kLostIdsShown) t.lost_ids.push_back(id);
  }
  for (const auto& [id, n] : times) {
    if (published.count(id) == 0) ++t.unexpected;
    t.duplicates += n - 1;
  }
  return t;
}

std::string summary_line(const std::string& driver, const Tally& t) {
  return driver + " chaos: published " + std::to_string(t.published) + ", processed " + std::to_string(t.processed) +
         ", lost " + std::to_string(t.lost) + ", duplicates " + std::to_string(t.duplicates);
}

}  // namespace qplug::chaos
