// Glob matching for policy actions, resources and conditions: '*' matches any
// run of characters (dots and colons included), '?' exactly one, everything else
// itself. Iterative with single backtracking point, so it is linear-ish and cannot
// blow the stack on hostile patterns like "a*a*a*a*...b".
#include <qplug/security.hpp>

namespace qplug {

bool glob_match(std::string_view pattern, std::string_view text) {
  size_t p = 0;
  size_t t = 0;
  size_t star = std::string_view::npos;  // position of the last '*' seen in pattern
  size_t star_text = 0;                  // text position that '*' currently stretches to
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_text = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;  // let the last '*' swallow one more character
      t = ++star_text;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace qplug
