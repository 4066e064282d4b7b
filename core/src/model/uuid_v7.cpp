// RFC 9562 UUIDv7 generation.
//
// Layout: 48-bit unix milliseconds | ver(4)=7 | rand_a(12) | var(2)=0b10 | rand_b(62).
// rand_a is a per-thread counter (RFC 9562 section 6.2, method 1): it starts at a
// random value with its top bit clear whenever the millisecond changes and is
// incremented when the millisecond repeats, so IDs made by one thread are strictly
// increasing. On counter overflow the timestamp is advanced by one millisecond
// (borrowing from the future, as the RFC allows); a clock that steps backwards is
// ignored for the same reason. State is thread_local: the publish hot path takes no
// lock. IDs from different threads are unique (62 random bits) and ordered by
// millisecond, but not ordered within one millisecond.
#include "model/uuid_v7.hpp"

#include <chrono>
#include <qplug/message.hpp>
#include <random>
#include <thread>

namespace qplug {
namespace {

// xoshiro256** -- small, fast, good enough for the random bits of an ID (not for
// secrets: UUIDs are identifiers, not tokens).
class UuidRandom {
 public:
  UuidRandom() {
    std::random_device rd;
    uint64_t seed = (static_cast<uint64_t>(rd()) << 32) ^ rd();
    seed ^= std::hash<std::thread::id>{}(std::this_thread::get_id());
    seed ^= static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    for (auto& word : s_) word = splitmix(seed);
  }
  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static uint64_t splitmix(uint64_t& x) {
    uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint64_t s_[4];
};

struct UuidState {
  UuidRandom random;
  uint64_t last_ms = 0;
  uint32_t counter = 0;  // 12 bits used
};

uint64_t uuid_now_ms() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

constexpr char kHex[] = "0123456789abcdef";

void uuid_put_hex(char*& p, uint64_t bits, int nibbles) {
  for (int i = nibbles - 1; i >= 0; --i) *p++ = kHex[(bits >> (i * 4)) & 0xF];
}

}  // namespace

namespace detail {

void write_uuid_v7(char* out) {
  thread_local UuidState state;
  uint64_t ms = uuid_now_ms() & 0xFFFFFFFFFFFFULL;
  if (ms > state.last_ms) {
    state.last_ms = ms;
    state.counter = static_cast<uint32_t>(state.random.next() & 0x7FF);  // top bit clear: room to count
  } else if (++state.counter > 0xFFF) {
    ++state.last_ms;  // 4096 IDs in one ms on this thread: move to the next ms
    state.counter = 0;
  }
  ms = state.last_ms;
  const uint64_t rand_b = state.random.next() & 0x3FFFFFFFFFFFFFFFULL;

  char* p = out;
  uuid_put_hex(p, ms >> 16, 8);
  *p++ = '-';
  uuid_put_hex(p, ms & 0xFFFF, 4);
  *p++ = '-';
  uuid_put_hex(p, 0x7000 | state.counter, 4);
  *p++ = '-';
  uuid_put_hex(p, 0x8000 | (rand_b >> 48), 4);
  *p++ = '-';
  uuid_put_hex(p, rand_b & 0xFFFFFFFFFFFFULL, 12);
}

}  // namespace detail

std::string new_uuid_v7() {
  std::string out(detail::kUuidTextSize, '\0');
  detail::write_uuid_v7(out.data());
  return out;
}

}  // namespace qplug
