// Prober: outside-in probes of every public endpoint (docs/probes.md). On the leader replica, every
// `interval_seconds`, it lists the workloads that are meant to run and have started (desired
// running; starting, running, failed or lost) and checks each of their public TCP ports through
// the edge's public port, the address users dial, with the check the template knows
// (ProbeRunner: PostgreSQL SSL request, S3 health endpoint, HTTP or TCP for custom ports). An
// endpoint whose node has no connected agent, or whose public port the edge could not bind, is
// not dialled: it is unreachable with that reason at once.
//
// Each result updates the endpoint's current state (store::ProbeStore, one transaction per pass);
// the history keeps a row when the state or the reason changes and one sample every
// `sample_every_seconds` otherwise, and is pruned after `keep_seconds`. An endpoint going
// unreachable (after a failed check confirmed by a second one; ProbeRunner) is a timeline event and
// an AlertKind::kEndpointUnreachable when it was reachable before or its workload is running (a
// workload still starting up is not announced); its recovery is announced only if its loss was.
// An endpoint no longer probed (its workload stopped) becomes "unknown", silently.
//
// Tick() runs on the duties pool (never an I/O thread), from one thread at a time: it collects a
// finished pass (store writes, events, alerts), prunes, and starts the next pass when due. The
// dialling runs on the ProbeRunner's own thread. Reads for the API (History) are thread-safe.
// The store, clock, sink and seams must outlive it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/principal.h"
#include "common/result.h"
#include "control/alerts.h"
#include "control/probe_check.h"
#include "store/store.h"

namespace lattice::control {

struct ProberOptions {
  std::int64_t interval_seconds = 30;
  std::string edge_host = "127.0.0.1";  // where the edge listens (an IP address)
  std::int64_t sample_every_seconds = 300;
  std::int64_t keep_seconds = 24 * 3600;
  std::int64_t prune_every_seconds = 300;
  ProbeRunnerOptions runner;
};

// What the prober asks the rest of the server.
struct ProberSeams {
  std::function<bool()> leading;                        // this replica is the leader
  std::function<std::set<std::string>()> nodes_up;      // nodes whose agent is connected
  std::function<bool(int public_port)> port_listening;  // the edge listens on the port
};

// One endpoint of a workload as the API shows it: its name ("postgres", "port-8080"), current
// state (a record with state "unknown" if never probed) and history, oldest first.
struct EndpointProbes {
  std::string name{};
  store::ProbeRecord current;
  std::vector<store::ProbeRecord> history;
};

class Prober {
 public:
  Prober(store::Store& store, const Clock& clock, AlertSink& alerts, ProberSeams seams,
         ProberOptions options = {});
  ~Prober();
  Prober(const Prober&) = delete;
  Prober& operator=(const Prober&) = delete;

  void Tick();
  // Starts a pass now unless one is in flight (Tick does when due; tests call it). Returns
  // whether it started.
  bool StartPass();
  // Records the pass that finished, if any; returns whether there was one.
  bool Collect();
  bool PassInFlight() const;

  // The workload's endpoints with their history since `since`, at most `limit` rows each, for
  // its owner (anyone else: kNotFound).
  Result<std::vector<EndpointProbes>> History(const Principal& who, const std::string& workload_id,
                                              std::int64_t since, int limit);
  // The current state of one workload's endpoints (no owner check: the caller has one).
  Result<std::vector<store::ProbeRecord>> Current(const std::string& workload_id);

 private:
  struct Endpoint;  // one endpoint of a pass
  struct Pass;
  struct Known {  // what the leader knows of an endpoint between passes
    EndpointState state = EndpointState::kUnknown;
    std::string reason{};
    std::int64_t changed_at = 0;
    std::int64_t kept_at = 0;  // last history row
    bool announced = false;    // its loss was announced
  };
  using Key = std::pair<std::string, int>;  // workload id, container port

  void Seed();
  void Apply(Pass& pass, std::vector<ProbeOutcome> dialled);
  void Announce(const Endpoint& e, bool reachable, const std::string& message);

  store::Store& store_;
  const Clock& clock_;
  AlertSink& alerts_;
  const ProberSeams seams_;
  const ProberOptions options_;

  // Touched by Tick's thread only.
  std::map<Key, Known> known_;
  bool seeded_ = false;
  std::int64_t last_start_ = 0;
  std::int64_t last_prune_ = 0;

  mutable std::mutex mu_;
  std::unique_ptr<Pass> in_flight_;                    // guarded by mu_
  std::optional<std::vector<ProbeOutcome>> finished_;  // guarded by mu_

  ProbeRunner runner_;  // last: its thread stops before the members its callbacks touch
};

// The probe a port gets, from the workload's template and its ports_json entry; nullopt for a
// port that is not probed (udp).
std::optional<ProbeTarget> ProbeFor(const std::string& template_name, const std::string& port_name,
                                    const std::string& protocol, const std::string& probe_marker);

}  // namespace lattice::control
