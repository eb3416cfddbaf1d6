// BackupJobs: runs the server's backup jobs (link::BackupRun: back up, verify, delete, and
// probe a target) on this
// node, each in a throw-away container of the tool image (lattice/pgtools, docs/backups.md).
// A PostgreSQL job shares the database container's network namespace, so it reaches PostgreSQL
// on 127.0.0.1 and the tenant's own S3 workload by name. A volume snapshot job (kind kVolume:
// S3 and custom workloads) mounts the workload's volumes read-only and joins the tenant's
// network instead, so it works whether the workload runs or is stopped. It publishes no port. The
// target's keys and the database password are written as files into the job's own volume (never an
// environment variable or an argument); the container and the volume are removed when the job
// ends, whatever happened. Exactly one link::BackupResult per job goes to the sink.
//
// A job holds no thread while it runs: its engine calls are short ones on a small pool of its
// own, and waiting for the tool to finish is a timer on the link's executor, so a long backup
// never delays another workload's steps (those run on the reconciler's engine workers).
// Leftover job containers of an earlier agent process (killed mid-job) are removed at start;
// the server has already failed those backups as interrupted when this agent said hello.
// Thread-safe: Run() from any thread; Stop() once, before destruction.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "common/result.h"
#include "link/protocol.h"
#include "runtime/runtime.h"

namespace lattice::agent {

struct BackupJobOptions {
  std::string image = "lattice/pgtools:15";
  std::chrono::milliseconds poll{500};     // how often a running job is looked at
  std::chrono::seconds timeout{6 * 3600};  // a job still running after this is ended
  // This node's id, on the label of every job container: leftovers are only this node's (other
  // agents may share the engine — nodes on one host, tests side by side).
  std::string node_id;
};

// How the job reaches the database: its superuser (from the workload's assignment).
struct DatabaseAccess {
  std::string container;  // the database container's name
  std::string user;
  std::string password;
};

// The volumes of a workload assigned to this node, for a snapshot job.
struct WorkloadVolumes {
  std::string network;               // the tenant's network ("" for the engine's default)
  std::vector<std::string> volumes;  // the spec's volume names ("data", …), in the spec's order
  std::int64_t epoch = 0;            // of the set of volumes the container mounts (VolumeName)
};

// The database of a workload assigned to this node; nullopt if it has none here.
using DatabaseLookup = std::function<std::optional<DatabaseAccess>(const std::string& workload_id)>;
// The container of any workload assigned to this node (a probe joins its network namespace,
// where the owner's backups will reach the target from); nullopt if it has none here.
using ContainerLookup = std::function<std::optional<std::string>(const std::string& workload_id)>;
// The volumes of any workload assigned to this node; nullopt if it is not here (or deleted).
using VolumeLookup = std::function<std::optional<WorkloadVolumes>(const std::string& workload_id)>;
using BackupResultSink = std::function<void(link::BackupResult)>;

// The tool's command line for `run` (argv; the files it names are in /work), and the rclone
// configuration of its target. Pure; exposed for tests.
// A volume snapshot job (run.kind kVolume) names no user.
std::vector<std::string> ToolCommand(const link::BackupRun& run, const std::string& user);
// What a volume job mounts: its own volume at /work and, to take a snapshot, each of the
// workload's volumes read-only at /source/<name>. Pure; exposed for tests.
std::vector<runtime::VolumeMount> SnapshotMounts(const link::BackupRun& run,
                                                 const WorkloadVolumes& volumes,
                                                 const std::string& job_volume);
std::string TargetConfig(const link::BackupTargetSpec& target);
// The tool's last JSON result line in `output` (its stdout and stderr interleaved) read into a
// result for `run`; a missing or malformed line is a failure that says so.
link::BackupResult ReadToolResult(const link::BackupRun& run, const std::string& output,
                                  int exit_code);

class BackupJobs {
 public:
  BackupJobs(boost::asio::any_io_executor io, runtime::Runtime& runtime, DatabaseLookup lookup,
             BackupResultSink sink, BackupJobOptions options = {}, ContainerLookup containers = {},
             VolumeLookup volumes = {});
  ~BackupJobs();
  BackupJobs(const BackupJobs&) = delete;
  BackupJobs& operator=(const BackupJobs&) = delete;

  // Removes job containers an earlier agent process left behind (on the pool; call once).
  void RemoveLeftovers();
  // Starts `run`; its result goes to the sink when it ends.
  void Run(link::BackupRun run);
  // Ends the pool's work; jobs in flight end without a result (the server fails them when
  // this agent next says hello).
  void Stop();

 private:
  boost::asio::awaitable<void> Job(link::BackupRun run);
  // The container of a PostgreSQL job, or of a volume job.
  runtime::ContainerSpec DatabaseJob(const link::BackupRun& run, const DatabaseAccess& db,
                                     const std::string& name) const;
  runtime::ContainerSpec VolumeJob(const link::BackupRun& run, const WorkloadVolumes& volumes,
                                   const std::string& name) const;
  // Creates `spec`, copies `files` into its /work, starts it and waits for its result.
  boost::asio::awaitable<link::BackupResult> Execute(const link::BackupRun& run,
                                                     runtime::ContainerSpec spec,
                                                     std::vector<runtime::FileEntry> files);
  template <typename F>
  boost::asio::awaitable<decltype(std::declval<F>()())> OnPool(F fn);

  const boost::asio::any_io_executor io_;
  runtime::Runtime& runtime_;
  const DatabaseLookup lookup_;
  const ContainerLookup containers_;
  const VolumeLookup volumes_;
  const BackupResultSink sink_;
  const BackupJobOptions options_;
  boost::asio::thread_pool pool_{2};
  std::atomic<bool> stopping_{false};
};

}  // namespace lattice::agent
