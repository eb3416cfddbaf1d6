// Quota arithmetic shared by every Store implementation: what one workload counts, and whether
// adding it to what a user already has stays within the limits. Pure functions; thread-safe.
// The check itself must run inside the store's transaction (see Store::CreateWorkload), so two
// concurrent creates cannot both take the last slot.
#pragma once

#include "common/result.h"
#include "store/models.h"

namespace lattice::store {

// What `w` counts: one workload, its memory and CPU limits (or the quota's stand-ins if unset).
QuotaUse Charge(const Workload& w, const Quota& q);

// Whether `q` limits anything at all (every limit zero: nothing to count or check).
bool HasLimits(const Quota& q);

// Ok if `used` plus `request` stays within every limit of `q`. Otherwise kPermissionDenied with
// type "quota-exceeded", a message naming the quota, its limit, the current use and what the
// request needs, and the same as problem members `quota` ("workloads", "memory_mb" or
// "cpus"), `limit`, `used` and `requested`. Limits are checked in that order.
Status CheckQuota(const Quota& q, const QuotaUse& used, const QuotaUse& request);

}  // namespace lattice::store
