// ProbeStore: the durable side of outside-in endpoint probes (docs/probes.md). Two tables:
//   probe_endpoints  one row per probed endpoint (workload, container port): its current state,
//                    when it was last checked, latency, reason. Overwritten on every pass, so its
//                    size is the number of endpoints.
//   probe_results    the history: a row when an endpoint's state changes, plus one sample every
//                    few minutes while it does not (the prober decides which results to keep;
//                    control/prober.h). Pruned by age (PruneProbes), so 1,000 endpoints sampled
//                    every 5 minutes for 24 h hold at most ~290,000 rows.
// A deleted workload's rows go with it (Store::DeleteWorkload). Who may read a workload's rows is
// the caller's business. Both engines implement it with the same contract, pinned by
// probe_store_test.cc on both. Thread-safe like Store.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/states.h"

namespace lattice::store {

// One check of one endpoint (or its current state, in probe_endpoints).
struct ProbeRecord {
  std::string workload_id{};
  int container_port = 0;
  int public_port = 0;
  EndpointState state = EndpointState::kUnknown;
  std::string reason{};         // a code (control::ProbeReasonName); empty when reachable
  std::string message{};        // the reason in words
  std::int64_t latency_us = 0;  // of the check that decided the state; 0 if none
  std::int64_t at = 0;          // unix seconds of the check
  std::int64_t changed_at = 0;  // probe_endpoints: when the state last changed
  // RecordProbes: also keep this result in the history.
  bool keep = false;
};

class ProbeStore {
 public:
  virtual ~ProbeStore() = default;

  // In one transaction: each record replaces its endpoint's current row, and those with `keep`
  // are also added to the history (a second result for the same endpoint and second replaces
  // the first). Records of a workload that no longer exists are dropped.
  virtual Status RecordProbes(const std::vector<ProbeRecord>& records) = 0;
  // The current rows of one workload (`workload_id` non-empty) or of every workload, ordered by
  // workload, then container port.
  virtual Result<std::vector<ProbeRecord>> ProbeEndpoints(const std::string& workload_id) = 0;
  // The history of one workload since `since` (inclusive), ordered by container port, then
  // time; at most `limit` rows per endpoint, the newest ones.
  virtual Result<std::vector<ProbeRecord>> ProbeHistory(const std::string& workload_id,
                                                        std::int64_t since, int limit) = 0;
  // Deletes history rows older than `before`. Returns how many.
  virtual Result<std::int64_t> PruneProbes(std::int64_t before) = 0;
};

}  // namespace lattice::store
