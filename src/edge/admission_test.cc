// Admission without sockets: each cap refuses at exactly its value and names itself; one
// source at its caps leaves room for others; IPv4-mapped IPv6 counts as IPv4; a ticket's slots
// come back exactly once (Release, destruction, moves), so counts return to zero.
#include "edge/admission.h"

#include <gtest/gtest.h>

#include <vector>

namespace lattice::edge {
namespace {

namespace ip = boost::asio::ip;

const ip::address kA = ip::make_address("203.0.113.1");
const ip::address kB = ip::make_address("203.0.113.2");

Admission::Ticket MustAdmit(Admission& a, const std::string& wl, const ip::address& src) {
  auto v = a.Admit(wl, src);
  EXPECT_TRUE(std::holds_alternative<Admission::Ticket>(v)) << wl << " from " << src;
  if (auto* t = std::get_if<Admission::Ticket>(&v)) return std::move(*t);
  return {};
}

std::optional<Refusal> RefusalOf(Admission& a, const std::string& wl, const ip::address& src) {
  auto v = a.Admit(wl, src);
  if (auto* r = std::get_if<Refusal>(&v)) return *r;
  return std::nullopt;
}

TEST(AdmissionTest, OneSourceAtItsWorkloadCapLeavesRoomForAnother) {
  Admission a({.per_workload = 4, .per_source_per_workload = 2, .per_source = 10});
  std::vector<Admission::Ticket> held;
  held.push_back(MustAdmit(a, "wl_1", kA));
  held.push_back(MustAdmit(a, "wl_1", kA));
  EXPECT_EQ(RefusalOf(a, "wl_1", kA), Refusal::kSourceWorkloadFull);
  held.push_back(MustAdmit(a, "wl_2", kA));  // another workload: its own count
  held.push_back(MustAdmit(a, "wl_1", kB));
  held.push_back(MustAdmit(a, "wl_1", kB));
  EXPECT_EQ(RefusalOf(a, "wl_1", ip::make_address("203.0.113.3")), Refusal::kWorkloadFull);
  EXPECT_EQ(a.InFlight().streams, 5);
  EXPECT_EQ(a.InFlight().sources, 2);
}

TEST(AdmissionTest, TheServerWideCapCountsEveryWorkloadOfASource) {
  Admission a({.per_workload = 100, .per_source_per_workload = 2, .per_source = 3});
  std::vector<Admission::Ticket> held;
  held.push_back(MustAdmit(a, "wl_1", kA));
  held.push_back(MustAdmit(a, "wl_2", kA));
  held.push_back(MustAdmit(a, "wl_3", kA));
  EXPECT_EQ(RefusalOf(a, "wl_4", kA), Refusal::kSourceFull);
  EXPECT_EQ(RefusalOf(a, "wl_1", kA), Refusal::kSourceFull);  // the wider cap is named
  held.push_back(MustAdmit(a, "wl_4", kB));
  held[0].Release();
  held.push_back(MustAdmit(a, "wl_4", kA));
  EXPECT_EQ(RefusalOf(a, "wl_4", kA), Refusal::kSourceFull);
}

TEST(AdmissionTest, IPv4MappedIPv6CountsAsItsIPv4Address) {
  Admission a({.per_workload = 100, .per_source_per_workload = 2, .per_source = 100});
  const ip::address mapped = ip::make_address("::ffff:203.0.113.1");
  EXPECT_EQ(Admission::Normalize(mapped), kA);
  EXPECT_EQ(Admission::Normalize(ip::make_address("2001:db8::1")), ip::make_address("2001:db8::1"));
  auto t1 = MustAdmit(a, "wl_1", kA);
  auto t2 = MustAdmit(a, "wl_1", mapped);
  EXPECT_EQ(RefusalOf(a, "wl_1", kA), Refusal::kSourceWorkloadFull);
  EXPECT_EQ(RefusalOf(a, "wl_1", mapped), Refusal::kSourceWorkloadFull);
  EXPECT_EQ(a.InFlight().sources, 1);
  // A native IPv6 address is its own source.
  auto t3 = MustAdmit(a, "wl_1", ip::make_address("2001:db8::1"));
  EXPECT_EQ(a.InFlight().sources, 2);
}

TEST(AdmissionTest, SlotsComeBackExactlyOnce) {
  Admission a({.per_workload = 2, .per_source_per_workload = 2, .per_source = 2});
  {
    auto t = MustAdmit(a, "wl_1", kA);
    t.Release();
    t.Release();  // a second release gives nothing back twice
    EXPECT_FALSE(t.held());
    EXPECT_EQ(a.InFlight().streams, 0);
  }  // nor does the destructor after it
  EXPECT_EQ(a.InFlight().streams, 0);
  {
    auto t = MustAdmit(a, "wl_1", kA);
    Admission::Ticket moved = std::move(t);
    EXPECT_FALSE(t.held());  // NOLINT(bugprone-use-after-move): that is the point
    EXPECT_TRUE(moved.held());
    Admission::Ticket assigned = MustAdmit(a, "wl_1", kA);
    assigned = std::move(moved);  // the overwritten ticket gives its slot back
    EXPECT_EQ(a.InFlight().streams, 1);
  }
  const auto c = a.InFlight();
  EXPECT_EQ(c.streams, 0);
  EXPECT_EQ(c.sources, 0);
  EXPECT_EQ(c.workloads, 0);
  // After all that, the caps still hold at exactly their values.
  auto x = MustAdmit(a, "wl_1", kA);
  auto y = MustAdmit(a, "wl_1", kA);
  EXPECT_EQ(RefusalOf(a, "wl_1", kA), Refusal::kSourceFull);
}

}  // namespace
}  // namespace lattice::edge
