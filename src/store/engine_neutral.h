// Decisions both store engines must make identically, written once: whether a sign-up is
// admitted under the registration policy, and which public ports a workload gets. Pure
// functions over what the engine read inside its transaction; the engine then writes the
// result in that same transaction (so two servers cannot both admit on one invite or take one
// port). Like quota.h. Thread-safe.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/result.h"
#include "store/models.h"

namespace lattice::store {

// What admitting a sign-up needs from the engine.
enum class AdmissionStep {
  kAdmit,      // nothing more: the policy lets everyone in
  kUseInvite,  // mark the invite `Admission::invite_hash` used, once; InviteInvalid() if not
};

// kAdmit / kUseInvite, or kPermissionDenied with type "registration-closed" or
// "invite-required".
Result<AdmissionStep> DecideAdmission(const Admission& a);

// The refusal when the invite's single-use update touched no row: unknown, expired or used.
Error InviteInvalid();

struct PortPlan {
  std::vector<PublicPort> to_insert;  // new rows, in container-port order
  std::vector<PublicPort> all;        // every port the workload then holds, by public port
};

// Gives each of `container_ports` that `workload_id` does not hold yet the lowest free port of
// [low, high] that no row of `held` takes and `usable` accepts. kUnavailable naming the range
// when it runs out (the operator can widen --public-ports).
Result<PortPlan> PlanPublicPorts(const std::vector<PublicPort>& held,
                                 const std::string& workload_id,
                                 const std::vector<int>& container_ports, int low, int high,
                                 const std::function<bool(int)>& usable);

}  // namespace lattice::store
