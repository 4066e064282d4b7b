// broker_wait.hpp -- retrying a start-up step while the broker is down.
//
// `qplug run` and `qplug publish` load a config (open drivers, declare
// queues) before doing anything; with the broker down that fails with a
// retryable error. Rather than exiting at once, they try again with backoff
// (250 ms doubling to 30 s, jittered, the SDK's Backoff), bounded by a wait,
// logging the first 3 attempts and then at most one line per 30 s. Errors
// that waiting cannot fix (bad config, credentials, handlers) end it at once.
#pragma once

#include <csignal>
#include <cstdint>
#include <functional>
#include <optional>
#include <qplug/status.hpp>
#include <string_view>

namespace qplug::cli {

inline constexpr int64_t kWaitForever = -1;

// Reads the value of the duration option at argv[*i] (--wait, --idle-quiet),
// advancing *i: a duration in ms, or "forever" (kWaitForever) where
// `forever_allowed`. On a missing or bad value, INVALID with the usage
// message to print, naming the option.
Status read_duration_option(int argc, char** argv, int* i, bool forever_allowed, int64_t* ms);

// A broker that is down (or still starting) is worth waiting for.
bool worth_waiting(const Status& st);

// Runs `attempt` until it returns OK or an error not worth waiting for, or
// `wait_ms` (kWaitForever: no bound) has passed -- then the last error, with
// "gave up after N attempt(s)" added. nullopt when *stop turned non-zero
// during a wait (a signal: the caller exits without having started).
std::optional<Status> retry_while_unreachable(std::string_view command, const std::function<Status()>& attempt,
                                              int64_t wait_ms, const volatile std::sig_atomic_t* stop);

}  // namespace qplug::cli
