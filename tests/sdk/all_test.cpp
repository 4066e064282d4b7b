// all.hpp: the one-include SDK must name every header of abi/include/qplug/sdk,
// so a driver that includes it never misses a helper added later.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <qplug/sdk/all.hpp>
#include <sstream>
#include <string>

TEST(SdkAll, IncludesEveryHeaderOfTheSdk) {
  const std::filesystem::path dir = QPLUG_SDK_DIR;
  std::ifstream in(dir / "all.hpp");
  ASSERT_TRUE(in) << "cannot read " << (dir / "all.hpp");
  std::stringstream text;
  text << in.rdbuf();
  int headers = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (e.path().extension() != ".hpp" || name == "all.hpp") continue;
    ++headers;
    EXPECT_NE(text.str().find("#include <qplug/sdk/" + name + ">"), std::string::npos) << name << " is not in all.hpp";
  }
  EXPECT_GT(headers, 10) << "the SDK directory was not found where expected";
  // And the one include is enough to use the SDK.
  qplug_status st = qplug::sdk::make_status();
  EXPECT_TRUE(qplug::sdk::is_ok(st));
  EXPECT_EQ(qplug::sdk::parse_bool("TRUE"), std::optional<bool>(true));
}
