// table.cpp -- column-aligned text tables for the CLI's listings.
#include "table.hpp"

#include <algorithm>

namespace qplug::cli {

void print_table(std::ostream& out, const std::vector<Row>& rows, const std::string& indent) {
  std::vector<size_t> widths;
  for (const Row& r : rows) {
    if (widths.size() < r.size()) widths.resize(r.size(), 0);
    for (size_t i = 0; i < r.size(); ++i) widths[i] = std::max(widths[i], r[i].size());
  }
  for (const Row& r : rows) {
    std::string line = indent;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(widths[i] - r[i].size() + 2, ' ');
    }
    out << line << "\n";
  }
}

}  // namespace qplug::cli
