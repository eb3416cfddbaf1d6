// Readiness probes: how the agent decides that a started workload actually serves. One call is
// one attempt; the reconciler repeats it until it passes or the workload's deadline expires.
//   kRunning   ready as soon as the container runs (nothing to probe)
//   kTcp       a TCP connection to 127.0.0.1:<host port> is accepted and not closed at once
//              (Docker's userland proxy accepts for a container that does not listen)
//   kHttp      GET <path> on 127.0.0.1:<host port> answers 2xx
//   kPostgres  an authenticated libpq connection (user, password, database) succeeds
// Blocking, bounded by `timeout` (postgres: at least 2 s, libpq's smallest connect_timeout).
// Stateless; thread-safe.
#pragma once

#include <chrono>

#include "common/result.h"
#include "templates/template.h"

namespace lattice::agent {

// Ok when ready; otherwise kUnavailable saying why not (for logs and the final failure reason).
// `host_port` is where the engine published readiness.container_port on 127.0.0.1; 0 when it
// is not published (a failure for every kind but kRunning).
Status ProbeReadiness(const templates::Readiness& readiness, int host_port,
                      std::chrono::milliseconds timeout);

}  // namespace lattice::agent
