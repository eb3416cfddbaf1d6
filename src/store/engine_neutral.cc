#include "store/engine_neutral.h"

#include <algorithm>
#include <map>
#include <set>

namespace lattice::store {
namespace {

Error Refused(std::string type, std::string message) {
  Error e = Error::Forbidden(std::move(message));
  e.type = std::move(type);
  return e;
}

}  // namespace

Result<AdmissionStep> DecideAdmission(const Admission& a) {
  switch (a.policy) {
    case Registration::kOpen:
      return AdmissionStep::kAdmit;
    case Registration::kClosed:
      return Refused("registration-closed", "Registration is closed on this server.");
    case Registration::kInvite:
      break;
  }
  if (a.invite_hash.empty())
    return Refused("invite-required", "Registration on this server needs an invite.");
  return AdmissionStep::kUseInvite;
}

Error InviteInvalid() {
  return Refused("invite-invalid", "The invite is unknown, expired or already used.");
}

Result<PortPlan> PlanPublicPorts(const std::vector<PublicPort>& held,
                                 const std::string& workload_id,
                                 const std::vector<int>& container_ports, int low, int high,
                                 const std::function<bool(int)>& usable) {
  std::set<int> taken;
  std::map<int, int> mine;  // container port → public port
  for (const PublicPort& p : held) {
    taken.insert(p.port);
    if (p.workload_id == workload_id) mine[p.container_port] = p.port;
  }
  PortPlan plan;
  int next = low;
  for (int cport : container_ports) {
    if (mine.count(cport)) continue;
    while (next <= high && (taken.count(next) || !usable(next))) ++next;
    if (next > high)
      return Error::Unavailable("The server has no free public port left in " +
                                std::to_string(low) + "-" + std::to_string(high) +
                                "; its operator can widen --public-ports.");
    plan.to_insert.push_back({next, workload_id, cport});
    mine[cport] = next;
    taken.insert(next);
  }
  for (const auto& [cport, port] : mine) plan.all.push_back({port, workload_id, cport});
  std::sort(plan.all.begin(), plan.all.end(),
            [](const PublicPort& a, const PublicPort& b) { return a.port < b.port; });
  return plan;
}

}  // namespace lattice::store
