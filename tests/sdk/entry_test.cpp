// entry.hpp: the version negotiation every qplug_driver_entry() does.
#include <gtest/gtest.h>

#include <qplug/sdk/entry.hpp>
#include <string>

using qplug::sdk::make_status;
using qplug::sdk::negotiate_entry;

namespace {

qplug_driver_v1 vtable() {
  qplug_driver_v1 v{};
  v.struct_size = sizeof v;
  v.abi_major = QPLUG_ABI_MAJOR;
  v.abi_minor = QPLUG_ABI_MINOR;
  v.name = "demo";
  return v;
}

TEST(NegotiateEntry, SameMajorAnyMinorGetsTheVtable) {
  const qplug_driver_v1 v = vtable();
  qplug_status st = make_status();
  EXPECT_EQ(negotiate_entry(v, QPLUG_ABI_MAJOR, 0, &st), &v);
  EXPECT_EQ(negotiate_entry(v, QPLUG_ABI_MAJOR, QPLUG_ABI_MINOR + 7, &st), &v) << "newer minors only append";
  EXPECT_EQ(st.code, QPLUG_OK);
}

TEST(NegotiateEntry, AnotherMajorIsRefusedNamingBothVersions) {
  const qplug_driver_v1 v = vtable();
  qplug_status st = make_status();
  EXPECT_EQ(negotiate_entry(v, QPLUG_ABI_MAJOR + 1, 3, &st), nullptr);
  EXPECT_EQ(st.code, QPLUG_INVALID);
  EXPECT_EQ(st.flags, 0u);
  std::string msg = st.message;
  EXPECT_NE(msg.find("demo driver"), std::string::npos) << msg;
  EXPECT_NE(msg.find("host speaks " + std::to_string(QPLUG_ABI_MAJOR + 1) + ".3"), std::string::npos) << msg;
  EXPECT_EQ(negotiate_entry(v, 0, 0, nullptr), nullptr) << "a NULL status is allowed";
}

TEST(NegotiateEntry, AHostOlderThanTheNeededMinorIsRefused) {
  const qplug_driver_v1 v = vtable();
  qplug_status st = make_status();
  EXPECT_EQ(negotiate_entry(v, QPLUG_ABI_MAJOR, 1, &st, 2), nullptr);
  EXPECT_EQ(st.code, QPLUG_INVALID);
  std::string want = "needs host ABI " + std::to_string(QPLUG_ABI_MAJOR) + ".2 or newer";
  EXPECT_NE(std::string(st.message).find(want), std::string::npos) << st.message;
  EXPECT_EQ(negotiate_entry(v, QPLUG_ABI_MAJOR, 2, &st, 2), &v);
}

}  // namespace
