#include "agent/backup_jobs.h"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <sstream>

#include "agent/workload_container.h"

namespace lattice::agent {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

constexpr const char* kJobLabel = "lattice.job";
constexpr const char* kWorkDir = "/work";      // the job's volume: secrets, and verify's scratch
constexpr const char* kSourceDir = "/source";  // a snapshot job: the workload's volumes, read-only

std::string JobName(const std::string& job_id) {
  return "lattice-job-" + job_id;
}

// The workload's objects live under the target's prefix + its id, so one bucket serves many.
std::string WorkloadPrefix(const link::BackupRun& run) {
  std::string p = run.target.prefix;
  if (!p.empty() && p.back() != '/') p += '/';
  return p + run.workload_id;
}

link::BackupResult Failure(const link::BackupRun& run, std::string code, std::string message) {
  link::BackupResult r;
  r.job_id = run.job_id;
  r.op = run.op;
  r.workload_id = run.workload_id;
  r.backup_id = run.backup_id;
  r.ok = false;
  r.error_code = std::move(code);
  r.message = std::move(message);
  return r;
}

std::int64_t IntOf(const json::object& o, std::string_view k) {
  const json::value* v = o.if_contains(k);
  if (v && v->is_int64()) return v->as_int64();
  if (v && v->is_uint64()) return static_cast<std::int64_t>(v->as_uint64());
  return 0;
}

std::string StrOf(const json::object& o, std::string_view k) {
  const json::value* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

}  // namespace

std::vector<std::string> ToolCommand(const link::BackupRun& run, const std::string& user) {
  if (run.kind == BackupKind::kVolume && run.op != link::BackupOp::kProbe) {
    const char* sub = run.op == link::BackupOp::kBackup   ? "snapshot"
                      : run.op == link::BackupOp::kVerify ? "snapshot-verify"
                                                          : "snapshot-delete";
    std::vector<std::string> cmd = {sub,
                                    "--id",
                                    run.backup_id,
                                    "--bucket",
                                    run.target.bucket,
                                    "--prefix",
                                    WorkloadPrefix(run),
                                    "--target-config",
                                    std::string(kWorkDir) + "/target.conf"};
    if (run.op == link::BackupOp::kBackup) {
      cmd.push_back("--source");
      cmd.push_back(kSourceDir);
    }
    return cmd;
  }
  if (run.op == link::BackupOp::kProbe)  // the target's own prefix; no database
    return {"probe",
            "--bucket",
            run.target.bucket,
            "--prefix",
            run.target.prefix,
            "--target-config",
            std::string(kWorkDir) + "/target.conf"};
  std::vector<std::string> cmd = {std::string(link::Name(run.op)),
                                  "--id",
                                  run.backup_id,
                                  "--bucket",
                                  run.target.bucket,
                                  "--prefix",
                                  WorkloadPrefix(run),
                                  "--target-config",
                                  std::string(kWorkDir) + "/target.conf",
                                  "--pgpass-file",
                                  std::string(kWorkDir) + "/pgpass",
                                  "--user",
                                  user};
  if (run.op == link::BackupOp::kVerify) {
    cmd.push_back("--work-dir");
    cmd.push_back(kWorkDir);
  }
  return cmd;
}

std::vector<runtime::VolumeMount> SnapshotMounts(const link::BackupRun& run,
                                                 const WorkloadVolumes& volumes,
                                                 const std::string& job_volume) {
  std::vector<runtime::VolumeMount> mounts = {{job_volume, kWorkDir}};
  if (run.op != link::BackupOp::kBackup) return mounts;  // verify and delete read the bucket only
  for (const std::string& v : volumes.volumes)
    mounts.push_back(
        {VolumeName(run.workload_id, v, volumes.epoch), std::string(kSourceDir) + "/" + v, true});
  return mounts;
}

std::string TargetConfig(const link::BackupTargetSpec& t) {
  std::string endpoint = t.endpoint;
  if (!t.workload_name.empty())
    endpoint = "http://" + t.workload_name + ":" + std::to_string(t.workload_port);
  // Values were validated by the server (no spaces, quotes or line breaks), so each is one
  // INI value. use_multipart_etag = false: S3 servers differ in the ETag of a multipart upload
  // (the offline stand-in answers a whole-object MD5); the tool checks its own sha256 instead.
  std::ostringstream o;
  o << "[target]\ntype = s3\nprovider = Other\nendpoint = " << endpoint
    << "\naccess_key_id = " << t.access_key << "\nsecret_access_key = " << t.secret_key
    << "\nregion = " << (t.region.empty() ? "us-east-1" : t.region)
    << "\nforce_path_style = true\nuse_multipart_etag = false\n";
  return o.str();
}

link::BackupResult ReadToolResult(const link::BackupRun& run, const std::string& output,
                                  int exit_code) {
  // The result is the tool's one JSON line on stdout; with stderr interleaved, the last line
  // that is a JSON object with "ok" is it.
  std::optional<json::object> result;
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line.front() != '{') continue;
    boost::system::error_code ec;
    json::value v = json::parse(line, ec);
    if (!ec && v.is_object() && v.as_object().contains("ok")) result = v.as_object();
  }
  if (!result)
    return Failure(
        run, "internal",
        "The backup tool ended (exit " + std::to_string(exit_code) + ") without a result.");
  const json::value& ok = result->at("ok");
  link::BackupResult r = Failure(run, StrOf(*result, "error"), StrOf(*result, "message"));
  r.ok = ok.is_bool() && ok.as_bool() && exit_code == 0;
  if (r.ok) {
    r.error_code.clear();
    r.message.clear();
  } else if (r.error_code.empty()) {
    r.error_code = "internal";
    if (r.message.empty())
      r.message = "The backup tool failed (exit " + std::to_string(exit_code) + ").";
  }
  r.size_bytes = IntOf(*result, "size_bytes");
  r.duration_ms = IntOf(*result, "duration_ms");
  r.start_lsn = StrOf(*result, "start_lsn");
  r.end_lsn = StrOf(*result, "end_lsn");
  r.tables = IntOf(*result, "tables");
  r.rows = IntOf(*result, "rows");
  r.files = IntOf(*result, "files");
  return r;
}

BackupJobs::BackupJobs(asio::any_io_executor io, runtime::Runtime& runtime, DatabaseLookup lookup,
                       BackupResultSink sink, BackupJobOptions options, ContainerLookup containers,
                       VolumeLookup volumes)
    : io_(std::move(io)),
      runtime_(runtime),
      lookup_(std::move(lookup)),
      containers_(std::move(containers)),
      volumes_(std::move(volumes)),
      sink_(std::move(sink)),
      options_(std::move(options)) {}

BackupJobs::~BackupJobs() {
  Stop();
}

void BackupJobs::Stop() {
  stopping_ = true;
  pool_.join();
}

void BackupJobs::RemoveLeftovers() {
  asio::post(pool_, [this] {
    auto left = runtime_.ListByLabel(kJobLabel);
    if (!left.ok()) return;
    for (const auto& c : *left) {
      // Another agent's job on a shared engine is not ours to remove; an unlabelled one is
      // from before jobs carried the node (one agent per engine then).
      const std::string node = LabelOf(c, kLabelNode);
      if (!node.empty() && node != options_.node_id) continue;
      spdlog::info("event=backup_job_leftover_removed container={}", c.name);
      (void)runtime_.Remove(c.id);
      (void)runtime_.RemoveVolume(c.name);  // the job's volume is named like its container
    }
  });
}

void BackupJobs::Run(link::BackupRun run) {
  asio::co_spawn(io_, Job(std::move(run)), asio::detached);
}

template <typename F>
asio::awaitable<decltype(std::declval<F>()())> BackupJobs::OnPool(F fn) {
  using R = decltype(fn());
  // Runs on the pool; the caller resumes on its own executor. (co_spawn needs a default-
  // constructible result, which Result<T> deliberately is not.)
  std::optional<R> out = co_await asio::co_spawn(
      pool_, [&]() -> asio::awaitable<std::optional<R>> { co_return fn(); }, asio::use_awaitable);
  co_return std::move(*out);
}

asio::awaitable<void> BackupJobs::Job(link::BackupRun run) {
  const std::string name = JobName(run.job_id);
  std::optional<runtime::ContainerSpec> spec;
  std::vector<runtime::FileEntry> files;
  link::BackupResult result;
  if (run.kind == BackupKind::kVolume && run.op != link::BackupOp::kProbe) {
    auto volumes = volumes_ ? volumes_(run.workload_id) : std::nullopt;
    if (!volumes)
      result =
          Failure(run, "workload-missing", "The workload is not assigned to this node any more.");
    else if (volumes->volumes.empty() && run.op == link::BackupOp::kBackup)
      result = Failure(run, "nothing-to-snapshot", "The workload has no volume to snapshot.");
    else
      spec = VolumeJob(run, *volumes, name);
  } else {
    std::optional<DatabaseAccess> db;
    if (run.op != link::BackupOp::kProbe) {
      db = lookup_(run.workload_id);
    } else if (auto container = containers_ ? containers_(run.workload_id) : std::nullopt) {
      db = DatabaseAccess{*container, "", ""};  // only the namespace; the probe reads no database
    }
    if (!db && run.op == link::BackupOp::kProbe) {
      result = Failure(run, "internal", "The workload to probe from is not on this node any more.");
    } else if (!db) {
      result = Failure(run, "database-unreachable",
                       "The database is not assigned to this node any more.");
    } else {
      spec = DatabaseJob(run, *db, name);
      files.push_back({"pgpass", "127.0.0.1:5432:*:" + db->user + ":" + db->password + "\n", 0400});
    }
  }
  if (spec) {
    files.push_back({"target.conf", TargetConfig(run.target), 0400});
    spdlog::info("event=backup_job_start job={} op={} kind={} workload={} backup={}", run.job_id,
                 link::Name(run.op), Name(run.kind), run.workload_id, run.backup_id);
    result = co_await Execute(run, std::move(*spec), std::move(files));
    co_await OnPool([this, &name] {
      (void)runtime_.Remove(name);
      return runtime_.RemoveVolume(name);
    });
    spdlog::info("event=backup_job_end job={} ok={} error={}", run.job_id, result.ok,
                 result.error_code);
  }
  if (!stopping_) sink_(std::move(result));
}

runtime::ContainerSpec BackupJobs::DatabaseJob(const link::BackupRun& run, const DatabaseAccess& db,
                                               const std::string& name) const {
  runtime::ContainerSpec spec;
  spec.name = name;
  spec.image = options_.image;
  spec.command = ToolCommand(run, db.user);
  spec.network = "container:" + db.container;
  spec.volumes = {{name, kWorkDir}};
  spec.labels = {{kJobLabel, run.job_id}};
  if (!options_.node_id.empty()) spec.labels[kLabelNode] = options_.node_id;
  // What the tool needs and no more: it restores as root, hands the files to postgres, runs
  // PostgreSQL as postgres and watches and stops it (verify: KILL, as root may not signal
  // another user's process without it). Every other capability stays dropped.
  spec.confinement.cap_add = {"CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "SETGID", "SETUID"};
  spec.confinement.pids_limit = 256;
  return spec;
}

runtime::ContainerSpec BackupJobs::VolumeJob(const link::BackupRun& run,
                                             const WorkloadVolumes& volumes,
                                             const std::string& name) const {
  runtime::ContainerSpec spec;
  spec.name = name;
  spec.image = options_.image;
  spec.command = ToolCommand(run, "");
  spec.network = volumes.network;  // where the tenant's own S3 workload answers by name
  spec.volumes = SnapshotMounts(run, volumes, name);
  spec.labels = {{kJobLabel, run.job_id}};
  if (!options_.node_id.empty()) spec.labels[kLabelNode] = options_.node_id;
  // tar reads every file whoever owns it (DAC_READ_SEARCH); the volumes are read-only.
  spec.confinement.cap_add = {"DAC_READ_SEARCH"};
  spec.confinement.pids_limit = 256;
  return spec;
}

asio::awaitable<link::BackupResult> BackupJobs::Execute(const link::BackupRun& run,
                                                        runtime::ContainerSpec spec,
                                                        std::vector<runtime::FileEntry> files) {
  auto created = co_await OnPool([&]() -> Result<std::string> {
    if (Status s = runtime_.EnsureImage(options_.image); !s.ok()) return std::move(s).error();
    auto id = runtime_.Create(spec);
    if (!id.ok()) return id;
    Status copied = runtime_.CopyFiles(*id, kWorkDir, files);
    if (!copied.ok()) return std::move(copied).error();
    if (Status s = runtime_.Start(*id); !s.ok()) return std::move(s).error();
    return id;
  });
  if (!created.ok())
    co_return Failure(run, "internal",
                      "The backup job could not start: " + created.error().message);

  asio::steady_timer timer(io_);
  const auto deadline = std::chrono::steady_clock::now() + options_.timeout;
  for (;;) {
    timer.expires_after(options_.poll);
    co_await timer.async_wait(asio::use_awaitable);
    if (stopping_) co_return Failure(run, "interrupted", "The agent is stopping.");
    auto info = co_await OnPool([&] { return runtime_.Inspect(*created); });
    if (!info.ok()) {
      // Gone (removed by hand, or by the engine's restart): it will never end by itself.
      if (info.error().code == ErrorCode::kNotFound)
        co_return Failure(run, "interrupted",
                          "The backup job's container was removed before it ended.");
      continue;  // the engine is busy: look again
    }
    if (info->running) {
      if (std::chrono::steady_clock::now() < deadline) continue;
      co_return Failure(run, "timeout", "The backup job ran longer than its time limit.");
    }
    auto output = co_await OnPool([&] { return runtime_.Logs(*created, 200); });
    if (!output.ok())
      co_return Failure(run, "internal", "The backup job's output could not be read.");
    if (info->oom_killed)
      co_return Failure(run, "out-of-memory", "The backup job ran out of memory.");
    link::BackupResult result = ReadToolResult(run, *output, info->exit_code);
    if (!result.ok)  // the tool's own account, for the node's operator
      spdlog::warn("event=backup_job_failed job={} op={} exit={} output=\"{}\"", run.job_id,
                   link::Name(run.op), info->exit_code,
                   output->size() > 4000 ? output->substr(output->size() - 4000) : *output);
    co_return result;
  }
}

}  // namespace lattice::agent
