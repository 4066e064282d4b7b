// tests/integration/chaos/chaos_tally.hpp -- the chaos suite's bookkeeping:
// from the publishers' files (one line per ID whose publish returned
// success) and the consumer processes' files (one line per processed ID),
// what was published, processed, lost and processed more than once.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace qplug::chaos {

struct Tally {
  size_t published = 0;               // distinct IDs whose publish succeeded
  size_t processed = 0;               // distinct IDs some consumer processed
  size_t lost = 0;                    // published, never processed
  size_t unexpected = 0;              // processed, never published successfully
  size_t duplicates = 0;              // processings beyond the first, summed over IDs
  std::vector<std::string> lost_ids;  // the first few lost IDs, for messages
};

// Reads every file (whole lines only) and counts.
Tally tally(const std::vector<std::string>& published_files, const std::vector<std::string>& processed_files);

// "redis chaos: published 10000, processed 10000, lost 0, duplicates 17"
std::string summary_line(const std::string& driver, const Tally& t);

}  // namespace qplug::chaos
