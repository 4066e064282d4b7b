// rstream_resp.cpp -- RESP encoding of one command (see rstream_resp.hpp).
#include "rstream_resp.hpp"

#include <charconv>
#include <cstring>
#include <utility>

namespace qplug::rstream {

namespace {
size_t resp_digits(size_t v) {
  size_t d = 1;
  while (v >= 10) {
    v /= 10;
    ++d;
  }
  return d;
}

// Writes "<tag><n>\r\n" at p; returns the end.
char* resp_put_count(char* p, char tag, size_t n) {
  *p++ = tag;
  p = std::to_chars(p, p + 20, n).ptr;  // size_t has at most 20 digits
  *p++ = '\r';
  *p++ = '\n';
  return p;
}
}  // namespace

FormattedCommand::FormattedCommand(const std::vector<std::string_view>& argv) {
  size_t total = 1 + resp_digits(argv.size()) + 2;
  for (std::string_view a : argv) total += 1 + resp_digits(a.size()) + 2 + a.size() + 2;
  data_ = new char[total];
  char* p = resp_put_count(data_, '*', argv.size());
  for (std::string_view a : argv) {
    p = resp_put_count(p, '$', a.size());
    if (!a.empty()) std::memcpy(p, a.data(), a.size());
    p += a.size();
    *p++ = '\r';
    *p++ = '\n';
  }
  size_ = total;
}

FormattedCommand::FormattedCommand(FormattedCommand&& o) noexcept
    : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}

FormattedCommand& FormattedCommand::operator=(FormattedCommand&& o) noexcept {
  if (this != &o) {
    delete[] data_;
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
  }
  return *this;
}

FormattedCommand::~FormattedCommand() { delete[] data_; }

}  // namespace qplug::rstream
