// RestoreJob: fills a new PostgreSQL workload's empty data volume from a backup
// (templates::RestoreSource, docs/backups.md "Restore") before its container first starts —
// or, for a volume snapshot (S3 and custom workloads), all of its empty volumes from the
// snapshot (`lattice-pgtool snapshot-restore`; no password, no recovery).
// One throw-away container of the tool image (lattice/pgtools) runs `lattice-pgtool restore`
// with the workload's data volume mounted where the database will find it: it downloads and
// checks the backup, recovers it (to the point in time, if asked) and gives the backup's role
// the workload's new password, then shuts the cluster down cleanly. The target's keys and the
// password are files in the job's own volume, never an environment variable or an argument.
//
// Driven by the workload's supervisor, one look per step (it never waits for the tool): Step()
// starts the tool container if there is none, reports it running while it runs, and collects
// its result (removing the container and its volume) once it has ended. An agent that restarts
// finds the container again by name and carries on; a container killed mid-restore leaves the
// tool's marker in the volume, and the next attempt starts over on an emptied volume. A second
// run of a finished restore is a no-op (the tool sees a data directory without its marker).
//
// Blocking Runtime calls, bounded by the runtime's timeouts: call from a supervisor step.
// Stateless; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "link/protocol.h"
#include "runtime/runtime.h"

namespace lattice::agent {

inline constexpr const char* kLabelRestore = "lattice.restore";  // the workload's id

struct RestoreOutcome {
  enum class State { kRunning, kDone, kFailed };
  State state = State::kRunning;
  std::string message;  // kFailed: for the workload's owner (the tool's error code and reason)
  std::string detail;   // kFailed: the tool's output, for the node's operator
};

// The tool container's name for workload `id`.
std::string RestoreContainerName(const std::string& workload_id);
// The tool's command line for `a`'s restore (argv; the files it names are in /work). Pure.
std::vector<std::string> RestoreCommand(const link::Assignment& a);
// What the restore container mounts: a PostgreSQL restore the data volume at $PGDATA; a volume
// snapshot (restore kind kVolume) each of the workload's volumes at /data/<name>; both their
// own volume at /work. Pure.
std::vector<runtime::VolumeMount> RestoreMounts(const link::Assignment& a);

// One look at `a`'s restore (a.spec.restore must be set); `network` is the one the workload's
// container will join (its tenant's: where an own S3 workload answers by name).
RestoreOutcome StepRestore(runtime::Runtime& runtime, const link::Assignment& a,
                           const std::string& network, const std::string& tool_image);
// Ends and removes `a`'s restore container and its volume, if any (the workload is stopped or
// deleted mid-restore). The data volume keeps the tool's marker: a later start restores again.
Status CancelRestore(runtime::Runtime& runtime, const std::string& workload_id);

}  // namespace lattice::agent
