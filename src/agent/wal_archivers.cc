#include "agent/wal_archivers.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <functional>

#include "agent/workload_container.h"

namespace lattice::agent {
namespace {

constexpr const char* kHome = "/var/lib/lattice-pgtool";  // the archiver's volume
constexpr const char* kLabelDb = "lattice.db";            // the database container it joined
constexpr const char* kLabelTarget = "lattice.target";    // digest of the target it writes to

std::string Prefix(const link::BackupTargetSpec& t, const std::string& workload_id) {
  std::string p = t.prefix;
  if (!p.empty() && p.back() != '/') p += '/';
  return p + workload_id;
}

// Tells targets apart without putting anything secret into a label.
std::string TargetDigest(const link::BackupTargetSpec& t, const std::string& workload_id) {
  const std::size_t h =
      std::hash<std::string>{}(TargetConfig(t) + "\n" + t.bucket + "\n" + Prefix(t, workload_id));
  char out[17];
  std::snprintf(out, sizeof out, "%016zx", h);
  return out;
}

std::string PgPass(const DatabaseAccess& db) {
  return "127.0.0.1:5432:*:" + db.user + ":" + db.password + "\n";
}

// What an exited archiver said (the tool's last JSON result in its output), as a status.
link::ArchiveStatus ArchiverFailure(const std::string& id, int exit_code,
                                    const std::string& output) {
  link::BackupRun run;
  run.workload_id = id;
  link::BackupResult r = ReadToolResult(run, output, exit_code);
  if (r.ok || r.error_code == "internal") {  // no result: killed, or the container went
    r.error_code = "archiver-exited";
    r.message = "The WAL archiver exited (code " + std::to_string(exit_code) +
                ") without saying why; it is started again.";
  }
  return {id, false, r.error_code, r.message};
}

}  // namespace

std::string ArchiverName(const std::string& workload_id) {
  return "lattice-wal-" + workload_id;
}

std::vector<std::string> ArchiverCommand(const link::BackupTargetSpec& target,
                                         const std::string& workload_id, const std::string& user,
                                         int interval_seconds) {
  const std::string home = kHome;
  return {"wal",
          "--bucket",
          target.bucket,
          "--prefix",
          Prefix(target, workload_id),
          "--target-config",
          home + "/target.conf",
          "--pgpass-file",
          home + "/pgpass",
          "--user",
          user,
          "--spool",
          home + "/spool",
          "--interval",
          std::to_string(interval_seconds)};
}

WalArchivers::WalArchivers(runtime::Runtime& runtime, DatabaseLookup lookup,
                           WalArchiverOptions options, ArchiveStatusSink status)
    : runtime_(runtime),
      lookup_(std::move(lookup)),
      options_(std::move(options)),
      status_(std::move(status)) {}

WalArchivers::~WalArchivers() {
  Stop();
}

void WalArchivers::Set(link::ArchiveSet m) {
  {
    std::lock_guard lock(mu_);
    if (m.target) {
      wanted_[m.workload_id] = std::move(*m.target);
      unwanted_.erase(m.workload_id);
    } else {
      wanted_.erase(m.workload_id);
      unwanted_.insert(m.workload_id);
    }
    fresh_.insert(m.workload_id);
    poke_ = true;
  }
  cv_.notify_all();
}

void WalArchivers::Start() {
  loop_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      lock.unlock();
      Reconcile();
      lock.lock();
      cv_.wait_for(lock, options_.poll, [this] { return stopping_ || poke_; });
      poke_ = false;
    }
  });
}

void WalArchivers::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (loop_.joinable()) loop_.join();
}

void WalArchivers::Report(link::ArchiveStatus s) {
  auto it = reported_.find(s.workload_id);
  if (it != reported_.end() && it->second.ok == s.ok && it->second.error_code == s.error_code &&
      it->second.message == s.message)
    return;
  reported_[s.workload_id] = s;
  if (status_) status_(std::move(s));
}

void WalArchivers::Reconcile() {
  std::map<std::string, link::BackupTargetSpec> wanted;
  std::set<std::string> unwanted;
  {
    std::lock_guard lock(mu_);
    wanted = wanted_;
    unwanted = unwanted_;
    for (const std::string& id : fresh_) reported_.erase(id);
    fresh_.clear();
  }
  auto listed = runtime_.ListByLabel(kLabelArchiver);
  if (!listed.ok()) return;  // the engine is busy: the next pass
  std::map<std::string, runtime::ContainerInfo> running;
  for (auto& c : *listed) {
    const std::string id = LabelOf(c, kLabelArchiver);
    const std::string node = LabelOf(c, kLabelNode);
    // Another node's, or (unlabelled, from before archivers carried the node) one of a
    // workload not assigned here: not ours.
    if (node.empty() ? !lookup_(id) : node != options_.node_id) continue;
    running[id] = std::move(c);
  }

  for (const auto& [id, target] : wanted) {
    auto it = running.find(id);
    Ensure(id, target, it == running.end() ? nullptr : &it->second);
  }
  for (const auto& [id, c] : running)
    if (!wanted.count(id) && !unwanted.count(id)) Retire(id, &c, false);  // not ours to keep
  for (const std::string& id : unwanted) {
    auto it = running.find(id);
    Retire(id, it == running.end() ? nullptr : &it->second, true);
  }
}

void WalArchivers::Ensure(const std::string& id, const link::BackupTargetSpec& target,
                          const runtime::ContainerInfo* archiver) {
  const std::optional<DatabaseAccess> db = lookup_(id);
  if (!db) {  // not (or no longer) assigned here: nothing to archive, nothing to keep
    if (archiver) Retire(id, archiver, false);
    return;
  }
  auto database = runtime_.Inspect(db->container);
  if (!database.ok() || !database->running) return;  // an archiver still there exits by itself
  if (archiver) {
    if (archiver->running && LabelOf(*archiver, kLabelDb) == database->id &&
        LabelOf(*archiver, kLabelTarget) == TargetDigest(target, id)) {
      auto started = last_start_.find(id);  // up for a while (or adopted): healthy again
      if (started == last_start_.end() ||
          std::chrono::steady_clock::now() - started->second >= options_.healthy_after) {
        failures_.erase(id);
        Report({id, true, "", ""});
      }
      return;
    }
    if (!archiver->running) {
      ++failures_[id];
      auto logs = runtime_.Logs(archiver->id, 20);
      spdlog::warn("event=wal_archiver_exited workload={} code={} output=\"{}\"", id,
                   archiver->exit_code, logs.ok() ? *logs : std::string());
      Report(ArchiverFailure(id, archiver->exit_code, logs.ok() ? *logs : std::string()));
    }
    // Exited, joined a database container that is no longer there, or archives to a target
    // the policy no longer names: start afresh.
    if (archiver->running) (void)runtime_.Stop(archiver->id, std::chrono::seconds(10));
    if (Status s = runtime_.Remove(archiver->id); !s.ok()) return;
  }
  // An archiver that keeps exiting (wrong keys, a bucket gone) is started again less and less
  // often: the gap doubles with each exit, up to five minutes.
  const auto now = std::chrono::steady_clock::now();
  const int failures = failures_.count(id) ? failures_[id] : 0;
  const auto gap = std::min<std::chrono::steady_clock::duration>(
      options_.restart_gap * (1LL << std::min(failures, 10)), std::chrono::minutes(5));
  if (auto it = last_start_.find(id); it != last_start_.end() && now - it->second < gap) return;
  last_start_[id] = now;

  const std::string name = ArchiverName(id);
  runtime::ContainerSpec spec;
  spec.name = name;
  spec.image = options_.image;
  spec.command = ArchiverCommand(target, id, db->user, options_.interval_seconds);
  spec.network = "container:" + db->container;
  spec.volumes = {{name, kHome}};
  spec.labels = {
      {kLabelArchiver, id}, {kLabelDb, database->id}, {kLabelTarget, TargetDigest(target, id)}};
  if (!options_.node_id.empty()) spec.labels[kLabelNode] = options_.node_id;
  spec.confinement.pids_limit = 256;  // it needs no capability: root in its own volume
  if (Status s = runtime_.EnsureImage(options_.image); !s.ok()) {
    spdlog::warn("event=wal_archiver_image_missing image={} error=\"{}\"", options_.image,
                 s.error().message);
    return;
  }
  auto created = runtime_.Create(spec);
  if (!created.ok()) {
    spdlog::warn("event=wal_archiver_create_failed workload={} error=\"{}\"", id,
                 created.error().message);
    return;
  }
  Status s = runtime_.CopyFiles(
      *created, kHome,
      {{"target.conf", TargetConfig(target), 0400}, {"pgpass", PgPass(*db), 0400}});
  if (s.ok()) s = runtime_.Start(*created);
  if (!s.ok()) {
    spdlog::warn("event=wal_archiver_start_failed workload={} error=\"{}\"", id, s.error().message);
    (void)runtime_.Remove(*created);
    return;
  }
  spdlog::info("event=wal_archiver_start workload={} database={}", id, database->id);
}

void WalArchivers::Retire(const std::string& id, const runtime::ContainerInfo* archiver,
                          bool drop_slot) {
  reported_.erase(id);
  if (archiver) {
    spdlog::info("event=wal_archiver_stop workload={} drop_slot={}", id, drop_slot);
    // SIGTERM: the tool uploads what it has before it exits.
    if (archiver->running) (void)runtime_.Stop(archiver->id, std::chrono::seconds(20));
    if (Status s = runtime_.Remove(archiver->id); !s.ok()) return;
  }
  if (drop_slot) {
    const std::optional<DatabaseAccess> db = lookup_(id);
    if (db) {
      auto database = runtime_.Inspect(db->container);
      if (!database.ok() || !database->running) return;  // the slot is kept: try again later
      if (!DropSlot(id, *db)) return;
    }
  }
  (void)runtime_.RemoveVolume(ArchiverName(id));
  last_start_.erase(id);
  failures_.erase(id);
  if (drop_slot) {
    std::lock_guard lock(mu_);
    unwanted_.erase(id);
  }
}

bool WalArchivers::DropSlot(const std::string& id, const DatabaseAccess& db) {
  const std::string name = ArchiverName(id) + "-dropslot";
  (void)runtime_.Remove(name);  // a leftover of an earlier attempt
  runtime::ContainerSpec spec;
  spec.name = name;
  spec.image = options_.image;
  spec.command = {"drop-slot", "--user", db.user, "--pgpass-file", std::string(kHome) + "/pgpass"};
  spec.network = "container:" + db.container;
  spec.volumes = {{ArchiverName(id), kHome}};
  spec.labels = {{"lattice.job", "dropslot-" + id}};
  spec.confinement.pids_limit = 64;
  auto created = runtime_.Create(spec);
  if (!created.ok()) return false;
  Status s = runtime_.CopyFiles(*created, kHome, {{"pgpass", PgPass(db), 0400}});
  if (s.ok()) s = runtime_.Start(*created);
  link::BackupResult result;
  result.ok = false;
  result.message = s.ok() ? "it did not end in time" : s.error().message;
  const auto deadline = std::chrono::steady_clock::now() + options_.drop_slot_timeout;
  while (s.ok() && std::chrono::steady_clock::now() < deadline) {
    auto info = runtime_.Inspect(*created);
    if (info.ok() && !info->running) {
      auto logs = runtime_.Logs(*created, 50);
      result = ReadToolResult(link::BackupRun{}, logs.ok() ? *logs : "", info->exit_code);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  (void)runtime_.Remove(*created);
  if (!result.ok) {
    spdlog::warn("event=wal_slot_drop_failed workload={} error=\"{}: {}\"", id, result.error_code,
                 result.message);
    return false;
  }
  spdlog::info("event=wal_slot_dropped workload={}", id);
  return true;
}

}  // namespace lattice::agent
