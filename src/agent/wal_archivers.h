// WalArchivers: continuous WAL archiving of this node's PostgreSQL workloads (issue 19,
// docs/backups.md "WAL archiving"). For every workload whose backup policy the server sent
// (link::ArchiveSet), one long-running container of the tool image runs `lattice-pgtool wal` in
// the database container's network namespace: pg_receivewal streams the WAL through a
// replication slot into a spool volume, and the tool uploads it to the policy's bucket, so a
// point-in-time restore can reach any moment up to the last --interval seconds.
//
// Each pass (Reconcile, every `poll` on the archivers' own thread — never a network thread):
//   - an archiver that is wanted and whose database runs is started if absent; one that exited
//     (the database container was restarted or re-created: the namespace it joined is gone, see
//     docs/backups.md) is removed and started again, after `restart_gap`, doubled with every
//     exit in a row (an archiver with wrong keys is not restarted every few seconds); one
//     whose policy now names another target is replaced;
//   - an archiver no longer wanted (the policy was removed) is stopped, and its replication slot
//     dropped by a short `lattice-pgtool drop-slot` job, or the database would keep every WAL
//     segment from then on; its spool volume is removed;
//   - an archiver whose workload is no longer assigned here (deleted, moved) is removed with its
//     spool volume; its database, and the slot in it, went with the workload.
// The target's keys and the database password are files in the spool volume, never an
// environment variable or an argument. Archivers of an earlier agent process are adopted.
// How each archiver is doing goes to the status sink when it changes (link::ArchiveStatus):
// failing when it exited (the tool's error code and reason from its last output), archiving
// once it has run `healthy_after`; and again after each Set, for a server that asks anew.
// Thread-safe: Set() from any thread; Start()/Stop() once each.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "agent/backup_jobs.h"
#include "link/protocol.h"
#include "runtime/runtime.h"

namespace lattice::agent {

inline constexpr const char* kLabelArchiver = "lattice.archiver";  // the workload's id

struct WalArchiverOptions {
  std::string image = "lattice/pgtools:15";
  std::chrono::milliseconds poll{3000};
  std::chrono::seconds restart_gap{5};
  int interval_seconds = 15;  // the tool's --interval: the recovery point is within about twice it
  std::chrono::seconds drop_slot_timeout{60};
  std::chrono::seconds healthy_after{60};  // up this long: archiving (and its backoff forgotten)
  // This node's id, on the label of its archivers: only those are looked at (other agents may
  // share the engine — nodes on one host, tests side by side — and keep their own).
  std::string node_id;
};

using ArchiveStatusSink = std::function<void(link::ArchiveStatus)>;

// The names of `workload_id`'s archiver container and its spool volume.
std::string ArchiverName(const std::string& workload_id);
// The archiver's command line (argv; the files it names are in its volume). Pure.
std::vector<std::string> ArchiverCommand(const link::BackupTargetSpec& target,
                                         const std::string& workload_id, const std::string& user,
                                         int interval_seconds);

class WalArchivers {
 public:
  WalArchivers(runtime::Runtime& runtime, DatabaseLookup lookup, WalArchiverOptions options = {},
               ArchiveStatusSink status = {});
  ~WalArchivers();
  WalArchivers(const WalArchivers&) = delete;
  WalArchivers& operator=(const WalArchivers&) = delete;

  // The server's word on one workload (the latest wins).
  void Set(link::ArchiveSet m);
  // One pass (see above). Blocking engine calls; one caller at a time (the loop, or a test).
  void Reconcile();
  void Start();  // the loop: Reconcile every `poll`, and soon after each Set
  void Stop();

 private:
  void Ensure(const std::string& workload_id, const link::BackupTargetSpec& target,
              const runtime::ContainerInfo* archiver);
  void Retire(const std::string& workload_id, const runtime::ContainerInfo* archiver,
              bool drop_slot);
  bool DropSlot(const std::string& workload_id, const DatabaseAccess& db);
  // Sends `s` unless it says what was last sent for its workload.
  void Report(link::ArchiveStatus s);

  runtime::Runtime& runtime_;
  const DatabaseLookup lookup_;
  const WalArchiverOptions options_;
  const ArchiveStatusSink status_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, link::BackupTargetSpec> wanted_;  // guarded by mu_
  std::set<std::string> unwanted_;                        // guarded by mu_: policy removed
  bool stopping_ = false;                                 // guarded by mu_
  bool poke_ = false;                                     // guarded by mu_
  std::set<std::string> fresh_;  // guarded by mu_: Set since the last pass (report anew)
  std::thread loop_;

  // The pass's own (one caller at a time).
  std::map<std::string, std::chrono::steady_clock::time_point> last_start_;
  std::map<std::string, int> failures_;                  // exits since it last ran healthy
  std::map<std::string, link::ArchiveStatus> reported_;  // the last status sent, by workload
};

}  // namespace lattice::agent
