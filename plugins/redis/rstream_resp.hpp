// rstream_resp.hpp -- one Redis command encoded in RESP, ready to write.
//
// Publishers format their XADDs on their own thread and the writer (or the
// caller, inline) writes them later, so the command is owned bytes. The
// encoding is the one every Redis client sends:
//   *<argc>\r\n  then per argument  $<len>\r\n<bytes>\r\n
// Why not hiredis' redisFormatCommandArgv: it formats each length with
// sprintf, which cost more than everything else in a pipelined publish
// (about 11k instructions per 13-argument XADD; this costs a few hundred).
#pragma once

#include <string_view>
#include <vector>

namespace qplug::rstream {

class FormattedCommand {
 public:
  FormattedCommand() = default;
  // Encodes argv (binary-safe: arguments may hold any bytes, NUL included).
  explicit FormattedCommand(const std::vector<std::string_view>& argv);
  FormattedCommand(FormattedCommand&& o) noexcept;
  FormattedCommand& operator=(FormattedCommand&& o) noexcept;
  FormattedCommand(const FormattedCommand&) = delete;
  FormattedCommand& operator=(const FormattedCommand&) = delete;
  ~FormattedCommand();

  // NULL only for a default-constructed (or moved-from) command.
  const char* data() const { return data_; }
  size_t size() const { return size_; }
  std::string_view bytes() const { return {data_, size_}; }

 private:
  char* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace qplug::rstream
