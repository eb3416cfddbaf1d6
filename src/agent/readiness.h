// Readiness probes: how the agent decides that a started workload actually serves. One call is
// one attempt; the reconciler repeats it until it passes or the workload's deadline expires.
//   kRunning   ready as soon as the container runs (nothing to probe)
//   kTcp       a TCP connection to the target is accepted and not closed at once (Docker's
//              userland proxy, on a published port, accepts for a container that does not listen)
//   kHttp      GET <path> on the target answers 2xx
//   kPostgres  an authenticated libpq connection (user, password, database) succeeds
// Blocking, bounded by `timeout` (postgres: at least 2 s, libpq's smallest connect_timeout).
// Stateless; thread-safe.
#pragma once

#include <chrono>

#include "agent/container_target.h"
#include "common/result.h"
#include "templates/template.h"

namespace lattice::agent {

// Ok when ready; otherwise kUnavailable saying why not (for logs and the final failure reason).
// `target` is where the node reaches readiness.container_port (workload_container.h's
// TargetFor); one that is not ok() fails every kind but kRunning.
Status ProbeReadiness(const templates::Readiness& readiness, const ContainerTarget& target,
                      std::chrono::milliseconds timeout);

}  // namespace lattice::agent
