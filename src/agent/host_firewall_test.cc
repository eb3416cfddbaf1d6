#include "agent/host_firewall.h"

#include <gtest/gtest.h>

namespace lattice::agent {
namespace {

// The rule set is one DROP of what containers start, and one hook, so that agents installing
// it at the same time cannot leave a DROP in front of an ACCEPT (tests/e2e/test_isolation.py
// checks the effect against a real engine).
TEST(HostFirewall, OneRuleDropsWhatContainersStartAndOneHookSendsTheirTrafficThere) {
  const auto rules = HostFirewallRules("lt-");
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0], (std::vector<std::string>{"-A", "LATTICE-INPUT", "-m", "conntrack", "!",
                                                "--ctstate", "ESTABLISHED,RELATED", "-j", "DROP"}));
  EXPECT_EQ(rules[1],
            (std::vector<std::string>{"-I", "INPUT", "1", "-i", "lt-+", "-j", "LATTICE-INPUT"}));
}

}  // namespace
}  // namespace lattice::agent
