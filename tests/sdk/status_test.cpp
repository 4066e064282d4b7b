// status.hpp: filling qplug_status and keeping exceptions from crossing the ABI.
#include <gtest/gtest.h>

#include <cstring>
#include <new>
#include <qplug/sdk/status.hpp>
#include <stdexcept>
#include <string>

using qplug::sdk::fail;
using qplug::sdk::guarded;
using qplug::sdk::guarded_void;
using qplug::sdk::is_ok;
using qplug::sdk::make_status;
using qplug::sdk::set_ok;

namespace {

TEST(Fail, FillsCodeFlagsAndTheFormattedMessage) {
  qplug_status st = make_status();
  EXPECT_EQ(fail(&st, QPLUG_FULL, true, "queue '%s' is full (%d)", "jobs", 500), QPLUG_FULL);
  EXPECT_EQ(st.code, QPLUG_FULL);
  EXPECT_EQ(st.flags, QPLUG_STATUS_RETRYABLE);
  EXPECT_STREQ(st.message, "queue 'jobs' is full (500)");
  EXPECT_FALSE(is_ok(st));

  EXPECT_EQ(fail(&st, QPLUG_INVALID, false, "bad"), QPLUG_INVALID);
  EXPECT_EQ(st.flags, 0u) << "a non-retryable failure clears the retryable flag";
}

TEST(Fail, ANullStatusOnlyReturnsTheCode) { EXPECT_EQ(fail(nullptr, QPLUG_TIMEOUT, true, "x %d", 1), QPLUG_TIMEOUT); }

TEST(Fail, LongMessagesAreTruncatedAndTerminated) {
  qplug_status st = make_status();
  std::string big(1000, 'x');
  fail(&st, QPLUG_INVALID, false, "%s", big.c_str());
  EXPECT_EQ(std::strlen(st.message), QPLUG_STATUS_MESSAGE_MAX - 1u);
}

TEST(SetOk, ClearsAPreviousFailureAndAcceptsNull) {
  qplug_status st = make_status();
  fail(&st, QPLUG_INTERNAL, true, "boom");
  set_ok(&st);
  EXPECT_TRUE(is_ok(st));
  EXPECT_EQ(st.flags, 0u);
  EXPECT_STREQ(st.message, "");
  set_ok(nullptr);
}

TEST(Guarded, PassesTheResultThrough) {
  qplug_status st = make_status();
  EXPECT_EQ(guarded<int32_t>(&st, QPLUG_INTERNAL, [] { return int32_t{QPLUG_OK}; }), QPLUG_OK);
  EXPECT_TRUE(is_ok(st));
}

TEST(Guarded, AStdExceptionBecomesInternalWithItsWhat) {
  qplug_status st = make_status();
  int32_t rc = guarded<int32_t>(&st, QPLUG_INTERNAL, []() -> int32_t { throw std::runtime_error("disk on fire"); });
  EXPECT_EQ(rc, QPLUG_INTERNAL);
  EXPECT_EQ(st.code, QPLUG_INTERNAL);
  EXPECT_EQ(st.flags, 0u);
  EXPECT_NE(std::string(st.message).find("disk on fire"), std::string::npos) << st.message;
}

TEST(Guarded, OutOfMemoryIsARetryableInternal) {
  qplug_status st = make_status();
  int* r = guarded<int*>(&st, nullptr, []() -> int* { throw std::bad_alloc(); });
  EXPECT_EQ(r, nullptr);
  EXPECT_EQ(st.code, QPLUG_INTERNAL);
  EXPECT_EQ(st.flags, QPLUG_STATUS_RETRYABLE);
  EXPECT_STREQ(st.message, "out of memory");
}

TEST(Guarded, AnythingElseThrownIsInternalToo) {
  qplug_status st = make_status();
  EXPECT_EQ(guarded<int32_t>(&st, -1, []() -> int32_t { throw 42; }), -1);
  EXPECT_EQ(st.code, QPLUG_INTERNAL);
  EXPECT_NE(std::string(st.message).find("unknown exception"), std::string::npos);
}

TEST(GuardedVoid, SwallowsEverything) {
  bool ran = false;
  guarded_void([&] {
    ran = true;
    throw std::logic_error("ignored");
  });
  EXPECT_TRUE(ran);
}

}  // namespace
