#include "agent/restore_job.h"

#include <spdlog/spdlog.h>

#include "agent/backup_jobs.h"
#include "agent/workload_container.h"

namespace lattice::agent {
namespace {

constexpr const char* kWorkDir = "/work";   // the job's volume: the target's keys, the password
constexpr const char* kDataRoot = "/data";  // a snapshot restore: each volume at /data/<name>

bool IsSnapshot(const link::Assignment& a) {
  return a.spec.restore->kind == BackupKind::kVolume;
}

// The database's data directory: where the template mounts its one volume.
std::string DataPath(const link::Assignment& a) {
  return a.spec.volumes.empty() ? std::string("/var/lib/postgresql/data")
                                : a.spec.volumes.front().container_path;
}

std::string DataVolume(const link::Assignment& a) {
  return VolumeName(a.workload_id, a.spec.volumes.empty() ? "data" : a.spec.volumes.front().name,
                    a.spec.volume_epoch);
}

// The new password: the template's secret file that holds it.
std::string NewPassword(const link::Assignment& a) {
  for (const auto& f : a.spec.secret_files)
    if (f.name == "postgres_password") return f.content;
  return a.spec.readiness.password;
}

RestoreOutcome Failed(std::string message, std::string detail = {}) {
  return {RestoreOutcome::State::kFailed, std::move(message), std::move(detail)};
}

}  // namespace

std::string RestoreContainerName(const std::string& workload_id) {
  return "lattice-restore-" + workload_id;
}

std::vector<std::string> RestoreCommand(const link::Assignment& a) {
  const templates::RestoreSource& r = *a.spec.restore;
  if (IsSnapshot(a))  // into the new workload's volumes; a second run finds them restored
    return {"snapshot-restore",
            "--id",
            r.backup_id,
            "--data",
            kDataRoot,
            "--bucket",
            r.target.bucket,
            "--prefix",
            r.target.prefix,
            "--target-config",
            std::string(kWorkDir) + "/target.conf",
            "--skip-if-restored"};
  std::vector<std::string> cmd = {"restore",
                                  "--id",
                                  r.backup_id,
                                  "--data",
                                  DataPath(a),
                                  "--bucket",
                                  r.target.bucket,
                                  "--prefix",
                                  r.target.prefix,
                                  "--target-config",
                                  std::string(kWorkDir) + "/target.conf",
                                  "--new-password-file",
                                  std::string(kWorkDir) + "/password"};
  if (!r.target_time.empty()) {
    cmd.push_back("--target-time");
    cmd.push_back(r.target_time);
  }
  if (r.verified) cmd.push_back("--verified");
  return cmd;
}

std::vector<runtime::VolumeMount> RestoreMounts(const link::Assignment& a) {
  const std::string job = RestoreContainerName(a.workload_id);
  if (!IsSnapshot(a)) return {{DataVolume(a), DataPath(a)}, {job, kWorkDir}};
  std::vector<runtime::VolumeMount> mounts;
  for (const auto& v : a.spec.volumes)
    mounts.push_back({VolumeName(a.workload_id, v.name, a.spec.volume_epoch),
                      std::string(kDataRoot) + "/" + v.name});
  mounts.push_back({job, kWorkDir});
  return mounts;
}

RestoreOutcome StepRestore(runtime::Runtime& runtime, const link::Assignment& a,
                           const std::string& network, const std::string& tool_image) {
  const std::string name = RestoreContainerName(a.workload_id);
  auto info = runtime.Inspect(name);
  if (!info.ok() && info.error().code != ErrorCode::kNotFound)
    return {};  // the engine is busy: look again at the next step
  if (!info.ok()) {
    runtime::ContainerSpec spec;
    spec.name = name;
    spec.image = tool_image;
    spec.command = RestoreCommand(a);
    spec.network = network;
    spec.volumes = RestoreMounts(a);
    spec.labels = {{kLabelRestore, a.workload_id}};
    // As the backup jobs: restore as root, hand the files to the data's owner, run and stop
    // PostgreSQL as that owner. Nothing else. A snapshot: tar restores owners, modes and
    // set-id bits as they were.
    spec.confinement.cap_add =
        IsSnapshot(a) ? std::vector<std::string>{"CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID"}
                      : std::vector<std::string>{"CHOWN", "DAC_OVERRIDE", "FOWNER",
                                                 "KILL",  "SETGID",       "SETUID"};
    spec.confinement.pids_limit = 256;
    if (Status s = runtime.EnsureImage(tool_image); !s.ok())
      return Failed("the backup tool image " + tool_image +
                    " is not available: " + s.error().message);
    auto id = runtime.Create(spec);
    if (!id.ok()) {
      if (id.error().code == ErrorCode::kConflict) return {};  // created meanwhile: look again
      return Failed("could not create the restore job: " + id.error().message);
    }
    std::vector<runtime::FileEntry> files = {
        {"target.conf", TargetConfig(a.spec.restore->target), 0400}};
    if (!IsSnapshot(a)) files.push_back({"password", NewPassword(a), 0400});
    Status copied = runtime.CopyFiles(*id, kWorkDir, files);
    if (copied.ok()) copied = runtime.Start(*id);
    if (!copied.ok()) {
      (void)runtime.Remove(*id);
      (void)runtime.RemoveVolume(name);
      return Failed("could not start the restore job: " + copied.error().message);
    }
    spdlog::info("event=restore_start workload={} backup={} target_time=\"{}\"", a.workload_id,
                 a.spec.restore->backup_id, a.spec.restore->target_time);
    return {};
  }
  if (info->running) return {};
  auto logs = runtime.Logs(info->id, 200);
  const std::string output = logs.ok() ? *logs : std::string();
  link::BackupRun run;  // only names the result
  run.workload_id = a.workload_id;
  run.backup_id = a.spec.restore->backup_id;
  link::BackupResult result = ReadToolResult(run, output, info->exit_code);
  if (info->oom_killed) {
    result.ok = false;
    result.error_code = "out-of-memory";
    result.message = "the restore job ran out of memory";
  }
  (void)runtime.Remove(info->id);
  (void)runtime.RemoveVolume(name);
  if (result.ok) {
    spdlog::info("event=restore_done workload={} backup={}", a.workload_id, run.backup_id);
    return {RestoreOutcome::State::kDone, {}, {}};
  }
  const std::string detail = output.size() > 4000 ? output.substr(output.size() - 4000) : output;
  spdlog::warn("event=restore_failed workload={} error={} output=\"{}\"", a.workload_id,
               result.error_code, detail);
  return Failed("restore of backup " + run.backup_id + " failed: " + result.error_code + ": " +
                    result.message,
                detail);
}

Status CancelRestore(runtime::Runtime& runtime, const std::string& workload_id) {
  const std::string name = RestoreContainerName(workload_id);
  auto info = runtime.Inspect(name);
  if (!info.ok()) return info.error().code == ErrorCode::kNotFound ? Status::Ok() : info.error();
  spdlog::info("event=restore_cancel workload={}", workload_id);
  if (Status s = runtime.Remove(info->id); !s.ok()) return s;
  return runtime.RemoveVolume(name);
}

}  // namespace lattice::agent
