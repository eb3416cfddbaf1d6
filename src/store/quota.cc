#include "store/quota.h"

#include <cmath>
#include <cstdio>

namespace lattice::store {
namespace {

// CPU amounts are decimals (0.25, 1.5): compare with a tolerance, print without noise.
constexpr double kCpuEpsilon = 1e-9;

std::string Cpus(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", std::round(v * 1000) / 1000);
  return buf;
}

Error Exceeded(std::string quota, std::string what, std::string limit, std::string used,
               std::string requested) {
  Error e = Error::Forbidden("Quota exceeded for " + what + ": the limit is " + limit +
                             ", you use " + used + " and this workload needs " + requested +
                             ". Delete a workload you no longer need, or ask an administrator.");
  e.type = "quota-exceeded";
  e.members.push_back({"quota", std::move(quota)});
  return e;
}

}  // namespace

QuotaUse Charge(const Workload& w, const Quota& q) {
  return QuotaUse{1, w.memory_mb > 0 ? w.memory_mb : q.unset_memory_mb,
                  w.cpus > 0 ? w.cpus : q.unset_cpus};
}

bool HasLimits(const Quota& q) {
  return q.max_workloads > 0 || q.max_memory_mb > 0 || q.max_cpus > 0;
}

Status CheckQuota(const Quota& q, const QuotaUse& used, const QuotaUse& request) {
  if (q.max_workloads > 0 && used.workloads + request.workloads > q.max_workloads) {
    Error e = Exceeded("workloads", "workloads", std::to_string(q.max_workloads),
                       std::to_string(used.workloads), std::to_string(request.workloads));
    e.members.push_back({"limit", q.max_workloads});
    e.members.push_back({"used", used.workloads});
    e.members.push_back({"requested", request.workloads});
    return e;
  }
  if (q.max_memory_mb > 0 && used.memory_mb + request.memory_mb > q.max_memory_mb) {
    Error e =
        Exceeded("memory_mb", "memory", std::to_string(q.max_memory_mb) + " MB",
                 std::to_string(used.memory_mb) + " MB", std::to_string(request.memory_mb) + " MB");
    e.members.push_back({"limit", q.max_memory_mb});
    e.members.push_back({"used", used.memory_mb});
    e.members.push_back({"requested", request.memory_mb});
    return e;
  }
  if (q.max_cpus > 0 && used.cpus + request.cpus > q.max_cpus + kCpuEpsilon) {
    Error e = Exceeded("cpus", "CPUs", Cpus(q.max_cpus), Cpus(used.cpus), Cpus(request.cpus));
    e.members.push_back({"limit", q.max_cpus});
    e.members.push_back({"used", std::round(used.cpus * 1000) / 1000});
    e.members.push_back({"requested", request.cpus});
    return e;
  }
  return Status::Ok();
}

}  // namespace lattice::store
