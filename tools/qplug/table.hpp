// table.hpp -- prints rows as left-aligned, space-padded columns.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace qplug::cli {

using Row = std::vector<std::string>;

// The first row is the header.
void print_table(std::ostream& out, const std::vector<Row>& rows, const std::string& indent = "");

}  // namespace qplug::cli
