// UUIDv7 generation (RFC 9562): format, version/variant bits, time prefix,
// per-thread monotonicity and uniqueness across threads.
#include <gtest/gtest.h>

#include <chrono>
#include <qplug/message.hpp>
#include <set>
#include <thread>

namespace qplug {
namespace {

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

uint64_t uuid_ms(const std::string& id) { return std::stoull(id.substr(0, 8) + id.substr(9, 4), nullptr, 16); }

TEST(UuidTest, CanonicalLowercaseForm) {
  const std::string id = new_uuid_v7();
  ASSERT_EQ(id.size(), 36u);
  for (size_t i = 0; i < id.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      EXPECT_EQ(id[i], '-') << id;
    } else {
      EXPECT_TRUE(is_hex(id[i])) << id;
    }
  }
}

TEST(UuidTest, VersionAndVariantBits) {
  for (int i = 0; i < 1000; ++i) {
    const std::string id = new_uuid_v7();
    EXPECT_EQ(id[14], '7') << id;
    EXPECT_TRUE(id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b') << id;
  }
}

TEST(UuidTest, TimestampIsUnixMilliseconds) {
  const auto now = [] {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
  };
  const uint64_t before = now();
  const std::string id = new_uuid_v7();
  const uint64_t after = now();
  const uint64_t ms = uuid_ms(id);
  EXPECT_GE(ms, before);
  // The counter may borrow at most a few ms from the future under a burst.
  EXPECT_LE(ms, after + 5);
}

TEST(UuidTest, StrictlyIncreasingWithinAThread) {
  std::string prev = new_uuid_v7();
  for (int i = 0; i < 200000; ++i) {  // far more than 4096 per ms: exercises counter overflow
    std::string next = new_uuid_v7();
    ASSERT_LT(prev, next) << "at " << i;
    prev = std::move(next);
  }
}

TEST(UuidTest, UniqueAcrossThreads) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20000;
  std::vector<std::vector<std::string>> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&ids, t] {
      for (int i = 0; i < kPerThread; ++i) ids[t].push_back(new_uuid_v7());
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::string> all;
  for (const auto& v : ids) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
}

TEST(UuidTest, HeadersLookup) {
  Headers h{{"priority", std::string("high")}, {"attempt", int64_t{3}}, {"ratio", 0.5}, {"flag", true}};
  ASSERT_NE(find_header(h, "attempt"), nullptr);
  EXPECT_EQ(std::get<int64_t>(*find_header(h, "attempt")), 3);
  EXPECT_EQ(std::get<std::string>(*find_header(h, "priority")), "high");
  EXPECT_EQ(std::get<double>(*find_header(h, "ratio")), 0.5);
  EXPECT_TRUE(std::get<bool>(*find_header(h, "flag")));
  EXPECT_EQ(find_header(h, "missing"), nullptr);
  EXPECT_EQ(find_header({}, "x"), nullptr);
}

}  // namespace
}  // namespace qplug
