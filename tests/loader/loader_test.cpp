// Loader tests against real .so files, each with one deliberate defect
// (tests/loader/plugins/test_plugin.c). Every failure must come back as
// nullptr plus a message naming the file and the specific fault.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <qplug/loader.hpp>
#include <string>
#include <thread>
#include <vector>

namespace {

using qplug::loader::Plugin;

const std::string kDir = QPLUG_TEST_PLUGIN_DIR;

std::string plugin_path(const std::string& stem) { return kDir + "/qplug_" + stem + ".so"; }

// Loads `stem` expecting failure; returns the error.
std::string load_error(const std::string& stem) {
  std::string error;
  const Plugin* p = qplug::loader::load_file(plugin_path(stem), &error);
  EXPECT_EQ(p, nullptr) << stem << " loaded but should not have";
  EXPECT_EQ(error.rfind(plugin_path(stem) + ": ", 0), 0u) << "error must start with the path: " << error;
  return error;
}

// Sets an environment variable for one test and restores it afterwards.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old, had_ = true;
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() { had_ ? (void)setenv(name_, old_.c_str(), 1) : (void)unsetenv(name_); }

 private:
  const char* name_;
  std::string old_;
  bool had_ = false;
};

TEST(LoaderFile, GoodPluginLoadsWithValidatedVtable) {
  std::string error;
  const Plugin* p = qplug::loader::load_file(plugin_path("good"), &error);
  ASSERT_NE(p, nullptr) << error;
  EXPECT_EQ(p->name, "good");
  EXPECT_EQ(p->path, plugin_path("good"));
  EXPECT_STREQ(p->vtable->version, "1.0.0-test");
  EXPECT_NE(qplug::loader::queue_info(*p), nullptr);
  ASSERT_NE(qplug::loader::config_schema(*p), nullptr);
  EXPECT_NE(std::string(qplug::loader::config_schema(*p)).find("\"type\""), std::string::npos);
}

TEST(LoaderFile, MissingFile) {
  std::string error;
  EXPECT_EQ(qplug::loader::load_file(kDir + "/qplug_nonexistent.so", &error), nullptr);
  EXPECT_EQ(error, kDir + "/qplug_nonexistent.so: no such file");
}

TEST(LoaderFile, DirectoryIsNotAPlugin) {
  std::string error;
  EXPECT_EQ(qplug::loader::load_file(kDir, &error), nullptr);
  EXPECT_NE(error.find(kDir + ": is a directory"), std::string::npos) << error;
}

TEST(LoaderFile, TextFileIsNotASharedObject) {
  std::string error = load_error("text");
  EXPECT_NE(error.find("not a loadable shared object ("), std::string::npos) << error;
  EXPECT_EQ(error.find(plugin_path("text"), 1), std::string::npos) << "path named once only: " << error;
}

TEST(LoaderFile, MissingEntrySymbol) {
  std::string error = load_error("no_entry");
  EXPECT_NE(error.find("missing entry symbol 'qplug_driver_entry'"), std::string::npos) << error;
}

TEST(LoaderFile, EntryReturnsNullWithPluginsReason) {
  std::string error = load_error("entry_null");
  EXPECT_NE(error.find("entry returned NULL: needs host ABI 1.7 for the frobnicate op"), std::string::npos) << error;
}

TEST(LoaderFile, AbiMajorMismatch) {
  std::string error = load_error("abi_major");
  std::string host = std::to_string(QPLUG_ABI_MAJOR) + "." + std::to_string(QPLUG_ABI_MINOR);
  EXPECT_NE(
      error.find("ABI major mismatch: plugin built for 2." + std::to_string(QPLUG_ABI_MINOR) + ", host speaks " + host),
      std::string::npos)
      << error;
}

TEST(LoaderFile, StructTooSmall) {
  std::string error = load_error("too_small");
  std::string expected = "struct too small (" + std::to_string(offsetof(qplug_driver_v1, consumer_free)) +
                         " bytes, need " + std::to_string(offsetof(qplug_driver_v1, queue_info)) + ")";
  EXPECT_NE(error.find(expected), std::string::npos) << error;
}

TEST(LoaderFile, NameAndVersionChecked) {
  EXPECT_NE(load_error("null_name").find("driver name is NULL"), std::string::npos);
  EXPECT_NE(load_error("empty_name").find("driver name is empty"), std::string::npos);
  EXPECT_NE(load_error("bad_name").find("driver name 'bad name' has characters outside"), std::string::npos);
  EXPECT_NE(load_error("null_version").find("driver version is NULL"), std::string::npos);
  EXPECT_NE(load_error("empty_version").find("driver version is empty"), std::string::npos);
}

class NullMandatoryOp : public testing::TestWithParam<const char*> {};

TEST_P(NullMandatoryOp, IsReportedByName) {
  std::string op = GetParam();
  std::string error = load_error("null_" + op);
  EXPECT_NE(error.find("mandatory operation '" + op + "' is NULL"), std::string::npos) << error;
}

INSTANTIATE_TEST_SUITE_P(EveryOp, NullMandatoryOp,
                         testing::Values("open", "close", "declare", "publish", "subscribe", "settle", "unsubscribe",
                                         "consumer_free"));

TEST(LoaderNegotiation, NewerMinorLargerStructAccepted) {
  std::string error;
  const Plugin* p = qplug::loader::load_file(plugin_path("newer_minor"), &error);
  ASSERT_NE(p, nullptr) << error;
  EXPECT_GT(p->vtable->struct_size, sizeof(qplug_driver_v1));
  EXPECT_EQ(p->vtable->abi_minor, QPLUG_ABI_MINOR + 1);
  EXPECT_NE(qplug::loader::queue_info(*p), nullptr);
}

TEST(LoaderNegotiation, V1_0VtableHidesFieldsBeyondItsSize) {
  std::string error;
  const Plugin* p = qplug::loader::load_file(plugin_path("v1_0"), &error);
  ASSERT_NE(p, nullptr) << error;
  // The plugin's storage holds a non-NULL queue_info past struct_size; an
  // older plugin's memory there would be garbage, so it must not be read.
  EXPECT_EQ(p->vtable->struct_size, qplug::loader::kMinDriverStructSize);
  EXPECT_EQ(qplug::loader::queue_info(*p), nullptr);
  EXPECT_NE(qplug::loader::config_schema(*p), nullptr);
}

// ABI 1.1's instance_capabilities: used when the vtable has it, and a 1.0
// plugin (struct_size ending before it) keeps working on its static bits.
TEST(LoaderNegotiation, InstanceCapabilitiesComeFromTheOpWhenPresent) {
  std::string error;
  const Plugin* p = qplug::loader::load_file(plugin_path("good"), &error);
  ASSERT_NE(p, nullptr) << error;
  EXPECT_EQ(p->vtable->capabilities, QPLUG_CAP_PERSISTENT);
  EXPECT_EQ(qplug::loader::instance_capabilities(*p, nullptr), QPLUG_CAP_PERSISTENT | QPLUG_CAP_HEADER_TYPES);
}

TEST(LoaderNegotiation, Minor0VtableFallsBackToStaticCapabilities) {
  std::string error;
  const Plugin* p = qplug::loader::load_file(plugin_path("minor_0"), &error);
  ASSERT_NE(p, nullptr) << error;
  EXPECT_EQ(p->vtable->struct_size, offsetof(qplug_driver_v1, instance_capabilities));
  EXPECT_NE(qplug::loader::queue_info(*p), nullptr) << "1.0 plugins with queue_info keep it";
  // The op sits non-NULL past struct_size; reading it would be a bug.
  EXPECT_EQ(qplug::loader::instance_capabilities(*p, nullptr), QPLUG_CAP_PERSISTENT);
}

TEST(LoaderCache, SameFileTwiceReturnsSamePlugin) {
  std::string error;
  const Plugin* a = qplug::loader::load_file(plugin_path("good"), &error);
  // A different spelling of the same file is the same plugin (cache by realpath).
  const Plugin* b = qplug::loader::load_file(kDir + "/../plugins/./qplug_good.so", &error);
  ASSERT_NE(a, nullptr) << error;
  EXPECT_EQ(a, b);
}

TEST(LoaderCache, ConcurrentLoadsAgree) {
  std::vector<const Plugin*> got(8, nullptr);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < got.size(); ++i) {
    threads.emplace_back([&got, i] {
      std::string error;
      got[i] = qplug::loader::load_file(plugin_path("newer_minor"), &error);
    });
  }
  for (std::thread& t : threads) t.join();
  ASSERT_NE(got[0], nullptr);
  for (const Plugin* p : got) EXPECT_EQ(p, got[0]);
}

TEST(LoaderSearch, FileNaming) { EXPECT_EQ(qplug::loader::plugin_file_name("memory"), "qplug_memory.so"); }

TEST(LoaderSearch, OrderIsExtraThenEnvThenBuildThenInstall) {
  ScopedEnv env("QPLUG_PLUGIN_PATH", std::string(QPLUG_TEST_SEARCH_B) + "::" + QPLUG_TEST_SEARCH_A + "/");
  std::vector<std::string> dirs = qplug::loader::search_dirs({"/extra/one"});
  ASSERT_GE(dirs.size(), 4u);
  EXPECT_EQ(dirs[0], "/extra/one");
  EXPECT_EQ(dirs[1], QPLUG_TEST_SEARCH_B);
  EXPECT_EQ(dirs[2], QPLUG_TEST_SEARCH_A);  // trailing slash dropped, empty entry skipped
  EXPECT_EQ(dirs.size(), 5u) << "build-tree and install dirs come last";
}

TEST(LoaderSearch, EnvPathDecidesWhichCopyLoads) {
  std::string error;
  {
    ScopedEnv env("QPLUG_PLUGIN_PATH", std::string(QPLUG_TEST_SEARCH_B) + ":" + QPLUG_TEST_SEARCH_A);
    const Plugin* p = qplug::loader::load_driver("ordered", qplug::loader::search_dirs(), &error);
    ASSERT_NE(p, nullptr) << error;
    EXPECT_STREQ(p->vtable->version, "b");
    // `extra` directories come before the environment.
    p = qplug::loader::load_driver("ordered", qplug::loader::search_dirs({QPLUG_TEST_SEARCH_A}), &error);
    ASSERT_NE(p, nullptr) << error;
    EXPECT_STREQ(p->vtable->version, "a");
  }
}

TEST(LoaderSearch, DriverNotFoundListsEveryDirectory) {
  std::string error;
  std::vector<std::string> dirs = {QPLUG_TEST_SEARCH_A, QPLUG_TEST_SEARCH_B};
  EXPECT_EQ(qplug::loader::load_driver("nosuch", dirs, &error), nullptr);
  EXPECT_EQ(error, "driver 'nosuch': no plugin qplug_nosuch.so in " + dirs[0] + ", " + dirs[1] +
                       " (set QPLUG_PLUGIN_PATH or give plugin: in the config)");
}

TEST(LoaderSearch, BadDriverNameIsRefusedBeforeTouchingTheDisk) {
  std::string error;
  EXPECT_EQ(qplug::loader::load_driver("../etc/x", {kDir}, &error), nullptr);
  EXPECT_NE(error.find("driver '../etc/x': driver name '../etc/x' has characters outside"), std::string::npos) << error;
}

TEST(LoaderSearch, BrokenFirstMatchIsReportedNotSkipped) {
  std::string error;
  EXPECT_EQ(qplug::loader::load_driver("entry_null", {kDir, QPLUG_TEST_SEARCH_A}, &error), nullptr);
  EXPECT_NE(error.find(plugin_path("entry_null") + ": entry returned NULL"), std::string::npos) << error;
}

TEST(LoaderSearch, VtableNameMustMatchFileName) {
  std::string error;
  EXPECT_EQ(qplug::loader::load_driver("mismatch", {kDir}, &error), nullptr);
  EXPECT_NE(error.find(plugin_path("mismatch") + ": driver name mismatch"), std::string::npos) << error;
  EXPECT_NE(error.find("'other'"), std::string::npos) << error;
}

TEST(LoaderDiscover, ListsGoodPluginsAndReportsBrokenOnes) {
  std::vector<std::string> errors;
  std::vector<const Plugin*> found = qplug::loader::discover({kDir, QPLUG_TEST_SEARCH_A, QPLUG_TEST_SEARCH_B}, &errors);
  std::vector<std::string> names;
  for (const Plugin* p : found) names.push_back(p->name);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"good", "minor_0", "newer_minor", "ordered", "v1_0"}));
  for (const Plugin* p : found) {
    if (p->name == "ordered") {
      EXPECT_STREQ(p->vtable->version, "a") << "first directory wins";
    }
  }
  auto reported = [&errors](const std::string& stem) {
    return std::any_of(errors.begin(), errors.end(),
                       [&](const std::string& e) { return e.rfind(plugin_path(stem) + ": ", 0) == 0; });
  };
  for (const char* stem :
       {"text", "no_entry", "entry_null", "abi_major", "too_small", "null_name", "empty_name", "bad_name",
        "null_version", "empty_version", "mismatch", "null_open", "null_settle", "null_consumer_free"}) {
    EXPECT_TRUE(reported(stem)) << stem << " not reported";
  }
  EXPECT_EQ(errors.size(), 19u);  // 11 broken + 8 NULL-op plugins; nothing else
}

TEST(LoaderDiscover, MissingDirectoriesAreSkippedQuietly) {
  std::vector<std::string> errors;
  EXPECT_TRUE(qplug::loader::discover({kDir + "/does-not-exist"}, &errors).empty());
  EXPECT_TRUE(errors.empty());
}

}  // namespace
