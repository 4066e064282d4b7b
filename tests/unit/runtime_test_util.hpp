// runtime_test_util.hpp -- builds a Runtime on the real memory plugin from
// inline YAML, for the runtime and consumer-runtime tests.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <qplug/runtime.hpp>
#include <string>
#include <thread>

namespace qplug::test_util {

inline std::unique_ptr<Runtime> make_runtime(const std::string& yaml) {
  auto cfg = parse_config(yaml, "test.yaml");
  EXPECT_TRUE(cfg.ok()) << cfg.status().to_string();
  if (!cfg.ok()) return nullptr;
  auto rt = Runtime::create(std::move(*cfg));
  EXPECT_TRUE(rt.ok()) << rt.status().to_string();
  if (!rt.ok()) return nullptr;
  return std::move(*rt);
}

// Waits for a condition the test drives to completion (no timing assertion:
// the bound only turns a hang into a failure).
template <typename F>
bool eventually(F&& cond, std::chrono::seconds bound = std::chrono::seconds(30)) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

inline const char* kBaseYaml = R"(
version: 1
namespace: app
entries:
  - kind: queue.driver.memory
    name: mem
  - kind: queue.queue
    name: tasks
    driver: mem
  - kind: queue.queue
    name: packed
    driver: mem
    codec: msgpack
)";

}  // namespace qplug::test_util
