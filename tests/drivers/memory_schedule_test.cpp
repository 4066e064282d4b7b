// The memory driver's scheduling structures without the driver: the
// priority-ordered ready list and the delay heap (plugins/memory/).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "memory_delay_heap.hpp"
#include "memory_ready_list.hpp"

namespace {

struct Node {
  Node* next = nullptr;
  uint8_t priority = 5;
  std::string id;
};

using Ready = qplug::memory::PriorityReadyList<Node>;
using List = qplug::memory::IntrusiveList<Node>;

std::vector<std::string> ids(const List& l) {
  std::vector<std::string> out;
  for (Node* n = l.head; n != nullptr; n = n->next) out.push_back(n->id);
  return out;
}

List list_of(std::vector<Node>& nodes, uint32_t* levels) {
  List l;
  for (Node& n : nodes) {
    l.push_back(&n);
    *levels |= 1u << n.priority;
  }
  return l;
}

}  // namespace

TEST(MemoryReadyList, HighestPriorityFirstFifoWithin) {
  std::vector<Node> nodes = {{nullptr, 1, "low1"}, {nullptr, 5, "n1"}, {nullptr, 9, "h1"},
                             {nullptr, 5, "n2"},   {nullptr, 9, "h2"}, {nullptr, 0, "z"}};
  uint32_t levels = 0;
  List fresh = list_of(nodes, &levels);
  Ready r;
  r.append(fresh, levels);
  EXPECT_EQ(r.size(), 6u);
  List a = r.take_front(3);
  EXPECT_EQ(ids(a), (std::vector<std::string>{"h1", "h2", "n1"}));
  List b = r.take_front(10);
  EXPECT_EQ(ids(b), (std::vector<std::string>{"n2", "low1", "z"}));
  EXPECT_TRUE(r.empty());
}

TEST(MemoryReadyList, RequeuedGoFirstWithinTheirLevelOnly) {
  std::vector<Node> nodes = {{nullptr, 5, "n1"}, {nullptr, 9, "h1"}};
  uint32_t levels = 0;
  List fresh = list_of(nodes, &levels);
  Ready r;
  r.append(fresh, levels);
  std::vector<Node> back_nodes = {{nullptr, 5, "n0"}, {nullptr, 1, "l0"}};
  uint32_t unused = 0;
  List back = list_of(back_nodes, &unused);
  r.prepend(back);
  EXPECT_EQ(ids(r.take_all()), (std::vector<std::string>{"h1", "n0", "n1", "l0"}));
}

TEST(MemoryReadyList, OneLevelSplicesWholeAndKeepsOrder) {
  std::vector<Node> nodes(100);
  for (size_t i = 0; i < nodes.size(); ++i) nodes[i].id = std::to_string(i);
  uint32_t levels = 0;
  List fresh = list_of(nodes, &levels);
  Ready r;
  r.append(fresh, levels);
  List all = r.take_front(1000);
  ASSERT_EQ(all.size, 100u);
  EXPECT_EQ(all.tail->next, nullptr);
  EXPECT_EQ(ids(all).front(), "0");
  EXPECT_EQ(ids(all).back(), "99");
}

TEST(MemoryDelayHeap, EarliestFirstPublishOrderOnTies) {
  qplug::memory::DelayHeap<Node> h;
  std::vector<Node> nodes = {{nullptr, 5, "t30"}, {nullptr, 5, "t10a"}, {nullptr, 5, "t20"}, {nullptr, 5, "t10b"}};
  h.reserve_more(nodes.size());
  h.push(30, &nodes[0]);
  h.push(10, &nodes[1]);
  h.push(20, &nodes[2]);
  h.push(10, &nodes[3]);
  EXPECT_EQ(h.next_due_ms(), 10);
  std::vector<std::string> out;
  EXPECT_EQ(h.pop_due(9, [&](Node* n) { out.push_back(n->id); }), 0u);
  EXPECT_EQ(h.pop_due(20, [&](Node* n) { out.push_back(n->id); }), 3u);
  EXPECT_EQ(out, (std::vector<std::string>{"t10a", "t10b", "t20"}));
  EXPECT_EQ(h.next_due_ms(), 30);
  size_t drained = 0;
  h.drain([&](Node*) { ++drained; });
  EXPECT_EQ(drained, 1u);
  EXPECT_TRUE(h.empty());
}
