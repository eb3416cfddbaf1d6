// `--wait`: follow a workload until it reaches a goal, polling GET /api/v1/workloads/{id} twice
// a second (which stays correct across server restarts and missed events), with progress on
// stderr — one line redrawn in place on a terminal, one plain line per status change
// otherwise, so CI logs stay readable. stdout is left to the command's result.
#pragma once

#include <boost/json/object.hpp>

#include <chrono>

#include "cli/api_client.h"
#include "common/result.h"

namespace lattice::cli {

enum class Goal { kRunning, kStopped, kGone };

// Returns the workload as last seen (an empty object for kGone). Errors: the workload failed or
// was lost (kConflict, with the reason and where to look next), the timeout passed
// (kUnavailable), or whatever the API said.
Result<boost::json::object> WaitFor(ApiClient& api, const boost::json::object& workload, Goal goal,
                                    std::chrono::seconds timeout);

}  // namespace lattice::cli
