// rstream_acks.cpp -- merging a subscription's XACKs for the writer.
#include "rstream_acks.hpp"

namespace qplug::rstream {

bool AckBatch::add_all(std::vector<std::string> ids) {
  std::lock_guard lock(mu_);
  if (ids_.empty()) {
    ids_.swap(ids);
  } else {
    for (std::string& id : ids) ids_.push_back(std::move(id));
  }
  return !std::exchange(job_queued_, true);
}

void AckBatch::abandon() {
  std::lock_guard lock(mu_);
  job_queued_ = false;
}

std::vector<FormattedCommand> AckBatch::take() {
  std::vector<std::string> ids;
  {
    std::lock_guard lock(mu_);
    ids.swap(ids_);
    job_queued_ = false;
  }
  std::vector<FormattedCommand> cmds;
  if (!ids.empty()) cmds.push_back(format_xack(key_, group_, ids));
  return cmds;
}

FormattedCommand AckBatch::format_xack(const std::string& key, const std::string& group,
                                       const std::vector<std::string>& ids) {
  std::vector<std::string_view> argv;
  argv.reserve(3 + ids.size());
  argv.push_back("XACK");
  argv.push_back(key);
  argv.push_back(group);
  for (const std::string& id : ids) argv.push_back(id);
  return FormattedCommand(argv);
}

}  // namespace qplug::rstream
