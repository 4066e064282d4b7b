// qplug/sdk/spin_lock.hpp -- take a std::mutex, spinning briefly before sleeping.
//
// glibc's default mutex goes to the kernel (futex wait, then a futex wake by
// the holder) the moment it finds the lock taken. For the tiny critical
// sections on a driver's hot path -- link a node, take a batch -- the holder
// lets go within a few hundred cycles, far less than the two syscalls and the
// context switch a sleep costs. So hot paths try the lock for a short while
// first and only then block. The mutex stays a plain std::mutex, so it keeps
// working with std::condition_variable and with ordinary lock_guards
// elsewhere. Spinning is bounded: a holder that was preempted costs at most
// the spin, then we sleep like before.
#pragma once

#include <mutex>

namespace qplug::sdk {

// How many failed attempts before blocking. Each costs one CAS plus a pause
// (~40-140 cycles on x86), so the whole spin stays well under a microsecond.
inline constexpr int kSpinLockAttempts = 64;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Locks `mu` and returns the lock; spins up to kSpinLockAttempts first.
inline std::unique_lock<std::mutex> lock_spinning(std::mutex& mu) {
  for (int i = 0; i < kSpinLockAttempts; ++i) {
    if (mu.try_lock()) return std::unique_lock<std::mutex>(mu, std::adopt_lock);
    cpu_relax();
  }
  return std::unique_lock<std::mutex>(mu);
}

}  // namespace qplug::sdk
