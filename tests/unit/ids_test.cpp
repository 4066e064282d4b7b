// Queue/entry IDs: validation and resolution of relative references.
#include <gtest/gtest.h>

#include <qplug/config.hpp>

namespace qplug {
namespace {

TEST(IdsTest, ValidIds) {
  for (const char* id : {"app:tasks", "a:b", "my-app.v2:task_queue-1", "A_1:B.2", "0:0"}) {
    EXPECT_TRUE(validate_queue_id(id).ok()) << id;
  }
}

TEST(IdsTest, InvalidIds) {
  struct Row {
    const char* id;
    const char* message_part;
  };
  const Row rows[] = {
      {"", "queue ID is empty"},      {"tasks", "must be namespace:name"}, {":tasks", "namespace is empty"},
      {"app:", "name is empty"},      {"app:ta sks", "contains ' '"},      {"app:a:b", "contains ':'"},
      {"ap/p:tasks", "contains '/'"}, {"app:t\xC3\xA9", "contains"},       {"app:tasks\n", "contains"},
  };
  for (const Row& r : rows) {
    Status st = validate_queue_id(r.id);
    ASSERT_FALSE(st.ok()) << r.id;
    EXPECT_EQ(st.kind(), ErrorKind::INVALID);
    EXPECT_NE(st.message().find(r.message_part), std::string::npos) << st.message();
  }
}

// Issue 11: a 300-character name was accepted; 255 bytes is the bound.
TEST(IdsTest, IdsAreAtMost255Bytes) {
  EXPECT_TRUE(validate_queue_id("app:" + std::string(251, 'q')).ok());
  Status st = validate_queue_id("app:" + std::string(252, 'q'));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("256 bytes, more than 255"), std::string::npos) << st.message();
}

TEST(IdsTest, ResolveRelativeAndFull) {
  EXPECT_EQ(resolve_id("app", "tasks").value(), "app:tasks");
  EXPECT_EQ(resolve_id("app", "other:tasks").value(), "other:tasks");
  EXPECT_EQ(resolve_id("", "other:tasks").value(), "other:tasks");
  EXPECT_FALSE(resolve_id("", "tasks").ok());
  EXPECT_FALSE(resolve_id("app", "").ok());
  EXPECT_FALSE(resolve_id("app", "bad name").ok());
  EXPECT_FALSE(resolve_id("bad ns", "tasks").ok());
  EXPECT_FALSE(resolve_id("app", "x:").ok());
}

TEST(IdsTest, SourceLocationToString) {
  EXPECT_EQ((SourceLocation{"cfg/app.yaml", 12}).to_string(), "cfg/app.yaml:12");
  EXPECT_EQ((SourceLocation{"cfg/app.yaml", 0}).to_string(), "cfg/app.yaml");
}

}  // namespace
}  // namespace qplug
