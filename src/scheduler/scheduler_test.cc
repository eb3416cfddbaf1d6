#include <gtest/gtest.h>

#include <algorithm>

#include "scheduler/placement.h"

namespace lattice::scheduler {
namespace {

NodeView Node(std::string id, bool ready, std::int64_t memory, std::int64_t allocated) {
  return {id, "node-" + id, ready, memory, allocated, 4};
}

TEST(Place, PicksReadyNodeWithMostFreeMemory) {
  const std::vector<NodeView> nodes = {Node("a", true, 4096, 3000),  // 1096 free
                                       Node("b", true, 8192, 4096),  // 4096 free
                                       Node("c", true, 2048, 0)};    // 2048 free
  const Placement p = Place({512}, nodes);
  EXPECT_EQ(p.node_id, "b");
  EXPECT_EQ(p.reason, "");
}

TEST(Place, SkipsNodesThatAreNotReady) {
  const std::vector<NodeView> nodes = {Node("big", false, 65536, 0), Node("small", true, 1024, 0)};
  EXPECT_EQ(Place({512}, nodes).node_id, "small");
}

TEST(Place, NoReadyNodeSaysSo) {
  for (const auto& nodes :
       {std::vector<NodeView>{},
        std::vector<NodeView>{Node("a", false, 4096, 0), Node("b", false, 4096, 0)}}) {
    const Placement p = Place({512}, nodes);
    EXPECT_EQ(p.node_id, "");
    EXPECT_NE(p.reason.find("no ready node"), std::string::npos) << p.reason;
  }
}

TEST(Place, NoRoomSaysWhatWasNeededAndTheBestAvailable) {
  const std::vector<NodeView> nodes = {Node("a", true, 1024, 900),  // 124 free
                                       Node("b", true, 1024, 724),  // 300 free
                                       Node("c", false, 65536, 0)};
  const Placement p = Place({512}, nodes);
  EXPECT_EQ(p.node_id, "");
  EXPECT_EQ(p.reason, "no node has 512 MB free: the most is 300 MB on node-b (b)");
}

TEST(Place, OvercommittedNodeReportsZeroFree) {
  const Placement p = Place({512}, {Node("a", true, 1024, 2048)});
  EXPECT_EQ(p.node_id, "");
  EXPECT_EQ(p.reason, "no node has 512 MB free: the most is 0 MB on node-a (a)");
}

TEST(Place, ExactFitIsAccepted) {
  EXPECT_EQ(Place({512}, {Node("a", true, 1024, 512)}).node_id, "a");
}

TEST(Place, TiesGoToTheSmallestIdWhateverTheOrder) {
  std::vector<NodeView> nodes = {Node("n3", true, 2048, 0), Node("n1", true, 2048, 0),
                                 Node("n2", true, 2048, 0)};
  std::sort(nodes.begin(), nodes.end(), [](auto& a, auto& b) { return a.id < b.id; });
  do {
    EXPECT_EQ(Place({256}, nodes).node_id, "n1");
  } while (std::next_permutation(nodes.begin(), nodes.end(),
                                 [](auto& a, auto& b) { return a.id < b.id; }));
}

TEST(Place, ZeroRequestCountsAsTheDefault) {
  const std::vector<NodeView> too_small = {Node("a", true, kDefaultRequestMb - 1, 0)};
  const Placement p = Place({0}, too_small);
  EXPECT_EQ(p.node_id, "");
  EXPECT_NE(p.reason.find("no node has " + std::to_string(kDefaultRequestMb) + " MB free"),
            std::string::npos)
      << p.reason;
  EXPECT_EQ(Place({0}, {Node("a", true, kDefaultRequestMb, 0)}).node_id, "a");
}

}  // namespace
}  // namespace lattice::scheduler
