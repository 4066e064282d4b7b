// tests/support/child_process.hpp -- what the multi-process tests (scaleout,
// chaos) share: starting a `qplug` child with its stderr in a log file,
// waiting for a condition with a deadline, and reading the whole lines a
// child appended to a file.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace qplug::testing {

// Starts args[0] with args[1..] (posix_spawn, the test's environment plus
// `extra_env` entries "NAME=value"), its stderr and stdout appended to `log`.
// Returns the pid, or -1 when it could not be started.
pid_t spawn_child(const std::vector<std::string>& args, const std::string& log,
                  const std::vector<std::string>& extra_env = {});

// waitpid() for `pid`; true when it exited with status 0. *how says how it
// ended ("exit 1", "signal 9") for messages.
bool wait_child(pid_t pid, std::string* how = nullptr);

// Polls `cond` every 20 ms until it holds (true) or `bound` passed (false):
// a deadline loop, so a slow machine only makes the test slower.
template <typename F>
bool eventually(F&& cond, std::chrono::milliseconds bound) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

// Writes `text` to `path` (truncating); false when it cannot.
bool write_text_file(const std::string& path, const std::string& text);

// The complete lines of `path` (a last line without '\n' is still being
// written and is left out); empty when the file does not exist.
std::vector<std::string> whole_lines(const std::string& path);

}  // namespace qplug::testing
