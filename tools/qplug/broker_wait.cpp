// broker_wait.cpp -- see broker_wait.hpp.
#include "broker_wait.hpp"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <qplug/sdk/backoff.hpp>
#include <qplug/sdk/parse.hpp>
#include <string>
#include <thread>

namespace qplug::cli {
namespace {

constexpr int64_t kFirstRetryMs = 250;
constexpr int64_t kMaxRetryMs = 30000;
constexpr auto kLogEvery = std::chrono::seconds(30);
constexpr auto kStopPoll = std::chrono::milliseconds(50);

}  // namespace

// The core already marks UNAVAILABLE, TIMEOUT and FULL retryable (the ABI's
// contract), whatever a driver's flag says: one rule, kept there.
bool worth_waiting(const Status& st) { return st.retryable(); }

Status read_duration_option(int argc, char** argv, int* i, bool forever_allowed, int64_t* ms) {
  const std::string option = argv[*i];
  const std::string expected = forever_allowed ? "a duration (250ms, 30s, 5m) or 'forever'" : "a duration (500ms, 3s)";
  if (*i + 1 >= argc) return invalid_error(option + " needs " + expected);
  const std::string_view v = argv[++*i];
  std::optional<int64_t> value =
      forever_allowed && v == "forever" ? std::optional<int64_t>(kWaitForever) : sdk::parse_duration_ms(v);
  if (!value) return invalid_error(option + " '" + std::string(v) + "' is not " + expected);
  *ms = *value;
  return ok_status();
}

std::optional<Status> retry_while_unreachable(std::string_view command, const std::function<Status()>& attempt,
                                              int64_t wait_ms, const volatile std::sig_atomic_t* stop) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point begin = Clock::now();
  sdk::Backoff backoff(kFirstRetryMs, kMaxRetryMs);
  Clock::time_point last_log{};
  for (int n = 1;; ++n) {
    Status st = attempt();
    if (st.ok() || !worth_waiting(st)) return st;
    const int64_t waited_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - begin).count();
    if (wait_ms != kWaitForever && waited_ms >= wait_ms) {
      return Status(st.kind(),
                    st.message() + " (gave up after " + std::to_string(n) + " attempt(s) in " +
                        std::to_string(waited_ms) + " ms)",
                    st.retryable());
    }
    int64_t delay_ms = backoff.next_ms();
    if (wait_ms != kWaitForever) delay_ms = std::min(delay_ms, wait_ms - waited_ms);
    if (n <= 3 || Clock::now() - last_log >= kLogEvery) {
      last_log = Clock::now();
      std::cerr << "qplug " << command << ": waiting for the broker (attempt " << n << "): " << st.to_string()
                << "; next attempt in " << delay_ms << " ms, "
                << (wait_ms == kWaitForever ? std::string("waiting forever")
                                            : "giving up after " + std::to_string(wait_ms) + " ms")
                << "\n";
    }
    const Clock::time_point until = Clock::now() + std::chrono::milliseconds(delay_ms);
    while (Clock::now() < until) {
      if (stop != nullptr && *stop != 0) return std::nullopt;
      std::this_thread::sleep_for(std::min<Clock::duration>(kStopPoll, until - Clock::now()));
    }
  }
}

}  // namespace qplug::cli
