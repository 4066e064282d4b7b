// tests/support/child_process.cpp -- see child_process.hpp.
#include "child_process.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <sstream>

extern char** environ;

namespace qplug::testing {

pid_t spawn_child(const std::vector<std::string>& args, const std::string& log,
                  const std::vector<std::string>& extra_env) {
  if (args.empty()) return -1;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 2, 1);
  std::vector<std::string> owned_args = args;
  std::vector<char*> argv;
  for (std::string& a : owned_args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> owned_env = extra_env;
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e) envp.push_back(*e);
  for (std::string& e : owned_env) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, owned_args[0].c_str(), &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  return rc == 0 ? pid : -1;
}

bool wait_child(pid_t pid, std::string* how) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) {
    if (how != nullptr) *how = "waitpid failed";
    return false;
  }
  if (how != nullptr) {
    *how = WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                             : "signal " + std::to_string(WIFSIGNALED(status) ? WTERMSIG(status) : -1);
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

bool write_text_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::trunc);
  f << text;
  return static_cast<bool>(f);
}

std::vector<std::string> whole_lines(const std::string& path) {
  std::ifstream f(path);
  std::stringstream all;
  all << f.rdbuf();
  const std::string text = all.str();
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t nl = text.find('\n'); nl != std::string::npos; nl = text.find('\n', start)) {
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

}  // namespace qplug::testing
