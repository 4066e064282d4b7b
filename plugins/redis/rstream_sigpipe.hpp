// rstream_sigpipe.hpp -- keeping SIGPIPE away from the host process.
//
// hiredis 0.14 writes with write(2), not send(MSG_NOSIGNAL): writing to a
// connection the server closed (restart, timeout, kill) raises SIGPIPE, whose
// default action kills the whole HOST process. A plugin must not depend on
// the host ignoring it, so: the driver's own threads block SIGPIPE for good
// (a write then just fails with EPIPE and the connection is reset), and the
// few calls that write on a host thread hold a SigpipeBlock, which also
// discards a SIGPIPE their write raised before restoring the host's mask.
#pragma once

#include <pthread.h>
#include <signal.h>
#include <time.h>

namespace qplug::rstream {

inline sigset_t rstream_sigpipe_set() {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGPIPE);
  return s;
}

// For threads the driver starts: SIGPIPE stays blocked until the thread ends.
inline void block_sigpipe_for_this_thread() {
  sigset_t s = rstream_sigpipe_set();
  pthread_sigmask(SIG_BLOCK, &s, nullptr);
}

// For a scope on a host thread that may write to a socket.
class SigpipeBlock {
 public:
  SigpipeBlock() {
    sigset_t s = rstream_sigpipe_set();
    pthread_sigmask(SIG_BLOCK, &s, &old_);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  }
  ~SigpipeBlock() {
    if (!was_pending_) {
      sigset_t pending;
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE) == 1) {  // raised by our write: consume it
        sigset_t s = rstream_sigpipe_set();
        timespec zero{};
        sigtimedwait(&s, nullptr, &zero);
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;

 private:
  sigset_t old_;
  bool was_pending_ = false;
};

}  // namespace qplug::rstream
