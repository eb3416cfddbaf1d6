// backup target add|ls|rm, backup schedule, backup now, backup verify, backup ls, backup
// restore: PostgreSQL backups and volume snapshots (docs/backups.md). A target's secret key is read
// from a file or stdin, never taken as an argument (it would show in `ps` and shell history).
#include <boost/json.hpp>

#include <fstream>
#include <iostream>
#include <iterator>
#include <thread>

#include "cli/table.h"
#include "cli/verbs.h"
#include "cli/views.h"
#include "cli/wait.h"

namespace lattice::cli {
namespace json = boost::json;

namespace {

struct BackupFlags {
  std::string server;
  std::string output = "table";
  std::string name;      // target name, or the workload
  std::string endpoint;  // target add
  std::string access_key;
  std::string secret_key_file;
  std::string workload;  // target add --workload
  std::string bucket;
  std::string region;
  std::string prefix;
  std::string target;  // schedule
  std::int64_t every = 0;
  std::string cron;
  int keep = 0;
  std::int64_t keep_days = 0;
  bool no_verify = false;
  bool wait = false;      // now, verify, restore
  std::string as;         // restore: the new workload's name
  bool in_place = false;  // restore: over the workload's own data…
  std::string confirm;    // …confirmed by repeating its name
  std::string backup_id;
  std::string time;
  int timeout_seconds = 600;
};

Result<std::string> ReadSecret(const std::string& file) {
  std::string text;
  if (file == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), {});
  } else {
    std::ifstream in(file, std::ios::binary);
    if (!in) return Error::Invalid("cannot read the secret key file '" + file + "'");
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

// A target's id from its name or id.
Result<std::string> FindTarget(ApiClient& api, const std::string& name_or_id) {
  auto list = api.Get("/api/v1/backup-targets");
  if (!list.ok()) return std::move(list).error();
  for (const auto& t : Items(*list)) {
    if (!t.is_object()) continue;
    const json::object& o = t.as_object();
    if (Text(o, "name") == name_or_id || Text(o, "id") == name_or_id) return Text(o, "id");
  }
  return Error::NotFound("no backup target named '" + name_or_id +
                         "' — `lattice backup target ls` lists yours");
}

bool Running(const json::object& b) {
  return Text(b, "status") == "running";
}
bool Verifying(const json::object& b) {
  const json::value* v = b.if_contains("verification");
  return v && v->is_object() && Text(v->as_object(), "status") == "pending";
}
// Still running, or succeeded and its verification still pending.
bool RunningOrVerifying(const json::object& b) {
  return Running(b) || (Text(b, "status") == "succeeded" && Verifying(b));
}

// Follows backup `b` (GET `path`) once a second while `busy` says so, for at most `timeout`:
// the backup as last seen; kUnavailable (the backup goes on, on the server) once it passed.
Result<json::value> PollBackup(ApiClient& api, const std::string& path, json::value b,
                               bool (*busy)(const json::object&), std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (b.is_object() && busy(b.as_object())) {
    if (std::chrono::steady_clock::now() >= deadline)
      return Error::Unavailable("backup " + Text(b.as_object(), "id") + " has not finished after " +
                                std::to_string(timeout.count()) +
                                " s; it goes on on the server — `lattice backup ls` shows how it "
                                "ends");
    std::this_thread::sleep_for(std::chrono::seconds(1));
    auto now = api.Get(path + "/" + Text(b.as_object(), "id"));
    if (!now.ok()) return std::move(now).error();
    b = std::move(now).value();
  }
  if (!b.is_object()) return Error::Unavailable("the server's answer is not a backup");
  return b;
}

std::string BackupsTable(const json::array& items) {
  Table t({"ID", "KIND", "STATUS", "TRIGGER", "STARTED", "SIZE", "DURATION", "VERIFIED", "REASON"});
  for (const auto& v : items) {
    if (!v.is_object()) continue;
    const json::object& b = v.as_object();
    const json::value* ver = b.if_contains("verification");
    const std::string verified =
        ver && ver->is_object() ? Text(ver->as_object(), "status") : std::string("-");
    std::string reason = Text(b, "message");
    if (ver && ver->is_object() && Text(ver->as_object(), "status") == "failed")
      reason = Text(ver->as_object(), "message");
    t.AddRow({Text(b, "id"), Text(b, "kind"), Text(b, "status"), Text(b, "trigger"),
              Text(b, "started_at"), Text(b, "size_bytes"), Text(b, "duration_ms") + " ms",
              verified, reason.empty() ? "-" : reason});
  }
  return t.Render();
}

int RunTargetAdd(const CLI::App& cmd, const BackupFlags& f) {
  Session s = Connect(cmd, f.server);
  if (!s) return s.exit_code;
  json::object body{{"name", f.name}, {"bucket", f.bucket}};
  if (!f.workload.empty()) {
    body["workload"] = f.workload;
  } else {
    if (f.endpoint.empty() || f.access_key.empty() || f.secret_key_file.empty())
      return Usage(cmd, "give --workload NAME, or --endpoint, --access-key and --secret-key-file");
    auto secret = ReadSecret(f.secret_key_file);
    if (!secret.ok()) return Fail(cmd, secret.error());
    body["endpoint"] = f.endpoint;
    body["access_key"] = f.access_key;
    body["secret_key"] = *secret;
  }
  if (!f.region.empty()) body["region"] = f.region;
  if (!f.prefix.empty()) body["prefix"] = f.prefix;
  // The server checks the target first (a probe object written, read back, deleted) and
  // refuses one that does not work, naming the cause.
  auto made = s->Post("/api/v1/backup-targets", body);
  if (!made.ok()) return Fail(cmd, made.error());
  if (f.output == "json") {
    PrintJson(*made);
    return kExitOk;
  }
  const json::object& o = made->as_object();
  const json::value* probe = o.if_contains("probe");
  const json::object empty;
  const json::object& p = probe && probe->is_object() ? probe->as_object() : empty;
  const std::string status = Text(p, "status");
  Print("Backup target '" + f.name + "' added (" + Text(o, "id") + ")" +
        (status == "passed" ? ": checked, it works.\n" : ".\n"));
  if (status != "passed" && !Text(p, "message").empty()) Print(Text(p, "message") + "\n");
  return kExitOk;
}

std::string ProbeText(const json::object& target) {
  const json::value* p = target.if_contains("probe");
  return p && p->is_object() ? Text(p->as_object(), "status") : std::string();
}

int RunTargetLs(const CLI::App& cmd, const BackupFlags& f) {
  Session s = Connect(cmd, f.server);
  if (!s) return s.exit_code;
  auto list = s->Get("/api/v1/backup-targets");
  if (!list.ok()) return Fail(cmd, list.error());
  const json::array items = Items(*list);
  if (f.output == "json") {
    PrintJson(items);
    return kExitOk;
  }
  if (items.empty()) {
    Print("No backup targets yet: `lattice backup target add` adds one.\n");
    return kExitOk;
  }
  Table t({"NAME", "KIND", "WHERE", "BUCKET", "PREFIX", "CHECK", "ID"});
  for (const auto& v : items) {
    if (!v.is_object()) continue;
    const json::object& o = v.as_object();
    const bool own = Text(o, "kind") == "workload";
    t.AddRow({Text(o, "name"), Text(o, "kind"), own ? Text(o, "workload_id") : Text(o, "endpoint"),
              Text(o, "bucket"), Text(o, "prefix"), ProbeText(o), Text(o, "id")});
  }
  Print(t.Render());
  return kExitOk;
}

int RunTargetRm(const CLI::App& cmd, const BackupFlags& f) {
  Session s = Connect(cmd, f.server);
  if (!s) return s.exit_code;
  auto id = FindTarget(*s.client, f.name);
  if (!id.ok()) return Fail(cmd, id.error());
  if (auto r = s->Delete("/api/v1/backup-targets/" + *id); !r.ok()) return Fail(cmd, r.error());
  if (f.output != "json") Print("Backup target '" + f.name + "' removed.\n");
  return kExitOk;
}

int RunSchedule(const CLI::App& cmd, const BackupFlags& f) {
  Session s = Connect(cmd, f.server);
  if (!s) return s.exit_code;
  auto w = FindWorkload(*s.client, f.name);
  if (!w.ok()) return Fail(cmd, w.error());
  auto target = FindTarget(*s.client, f.target);
  if (!target.ok()) return Fail(cmd, target.error());
  json::object body{{"target_id", *target},     {"interval_seconds", f.every},
                    {"cron", f.cron},           {"keep_count", static_cast<std::int64_t>(f.keep)},
                    {"keep_days", f.keep_days}, {"verify", !f.no_verify}};
  auto put = s->Put("/api/v1/workloads/" + Text(*w, "id") + "/backup-policy", body);
  if (!put.ok()) return Fail(cmd, put.error());
  if (f.output == "json") {
    PrintJson(*put);
    return kExitOk;
  }
  const json::object& p = put->as_object();
  const std::string when =
      !f.cron.empty()
          ? "on cron '" + Text(p, "cron") + "' (UTC; next " + Text(p, "next_run_at") + ")"
      : f.every > 0
          ? "every " + std::to_string(f.every) + " s (next " + Text(p, "next_run_at") + ")"
          : std::string("on demand (`lattice backup now`)");
  Print("Backups of '" + f.name + "' go to '" + f.target + "' " + when +
        (f.no_verify ? "" : "; each is verified by restoring it") + ".\n");
  return kExitOk;
}

bool Failed(const json::object& b) {
  return Text(b, "status") == "failed";
}
bool VerificationFailed(const json::object& b) {
  const json::value* v = b.if_contains("verification");
  return v && v->is_object() && Text(v->as_object(), "status") == "failed";
}

// `backup now` and `backup verify`: POSTs `action` (under the workload's backups), follows the
// backup while `busy` with --wait, and prints it; exit 1 if `failed` says so.
int StartAndShow(const CLI::App& cmd, const BackupFlags& f, const std::string& action,
                 bool (*busy)(const json::object&), bool (*failed)(const json::object&)) {
  Session s = Connect(cmd, f.server);
  if (!s) return s.exit_code;
  auto w = FindWorkload(*s.client, f.name);
  if (!w.ok()) return Fail(cmd, w.error());
  const std::string base = "/api/v1/workloads/" + Text(*w, "id") + "/backups";
  auto started = s->Post(base + action);
  if (!started.ok()) return Fail(cmd, started.error());
  json::value b = *started;
  if (f.wait) {
    auto done = PollBackup(*s.client, base, b, busy, std::chrono::seconds(f.timeout_seconds));
    if (!done.ok()) return Fail(cmd, done.error());
    b = std::move(done).value();
  }
  if (f.output == "json")
    PrintJson(b);
  else
    Print(BackupsTable(json::array{b}));
  return failed(b.as_object()) ? kExitError : kExitOk;
}

// Until it ended and, if the policy asks for it, its verification did.
int RunNow(const CLI::App& cmd, const BackupFlags& f) {
  return StartAndShow(cmd, f, "", RunningOrVerifying, Failed);
}

// Until the verification ended.
int RunVerify(const CLI::App& cmd, const BackupFlags& f) {
  return StartAndShow(cmd, f, "/" + f.backup_id + "/verify", Verifying, VerificationFailed);
}

int RunLs(const CLI::App& cmd, const BackupFlags& f) {
  Session s = Connect(cmd, f.server);
  if (!s) return s.exit_code;
  auto w = FindWorkload(*s.client, f.name);
  if (!w.ok()) return Fail(cmd, w.error());
  auto list = s->Get("/api/v1/workloads/" + Text(*w, "id") + "/backups");
  if (!list.ok()) return Fail(cmd, list.error());
  const json::array items = Items(*list);
  if (f.output == "json")
    PrintJson(items);
  else if (items.empty())
    Print("No backups of '" + f.name + "' yet: `lattice backup now " + f.name + "` takes one.\n");
  else
    Print(BackupsTable(items));
  return kExitOk;
}

int RunRestore(const CLI::App& cmd, const BackupFlags& f) {
  if (f.backup_id.empty() && f.time.empty())
    return Usage(cmd, "give --backup ID, --time TIMESTAMP, or both");
  if (f.in_place == !f.as.empty())
    return Usage(cmd, "give --as NAME (a new workload) or --in-place (over this one's data)");
  if (f.in_place && f.confirm.empty())
    return Usage(cmd,
                 "--in-place replaces the workload's data: add --confirm with its name to go on");
  Session s = Connect(cmd, f.server);
  if (!s) return s.exit_code;
  auto w = FindWorkload(*s.client, f.name);
  if (!w.ok()) return Fail(cmd, w.error());
  json::object body;
  if (f.in_place) {
    body["in_place"] = true;
    body["confirm"] = f.confirm;
  } else {
    body["name"] = f.as;
  }
  if (!f.backup_id.empty()) body["backup_id"] = f.backup_id;
  if (!f.time.empty()) body["target_time"] = f.time;
  auto created = s->Post("/api/v1/workloads/" + Text(*w, "id") + "/restore", body);
  if (!created.ok()) return Fail(cmd, created.error());
  if (!created->is_object())
    return Fail(cmd, Error::Unavailable("the server's answer is not a workload"));
  json::object restored = created->as_object();
  if (f.wait) {
    auto done =
        WaitFor(*s.client, restored, Goal::kRunning, std::chrono::seconds(f.timeout_seconds));
    if (!done.ok()) return Fail(cmd, done.error());
    restored = std::move(done).value();
  }
  if (f.output == "json") {
    PrintJson(restored);
    return kExitOk;
  }
  const std::string into = f.in_place ? Text(restored, "name") : f.as;
  std::string out =
      f.in_place ? "Restoring '" + into + "' (" + Text(restored, "id") +
                       ") in place, its credentials unchanged: " + Text(restored, "status") + ".\n"
                 : "Restoring '" + f.name + "' into new workload " + into + " (" +
                       Text(restored, "id") + "): " + Text(restored, "status") + ".\n";
  const std::string conn = f.in_place ? "" : ConnectionDetails(restored);
  if (!conn.empty()) out += conn;
  if (!f.wait) out += "Follow it with `lattice inspect " + into + "`.\n";
  Print(out);
  return kExitOk;
}

CLI::App* Leaf(CLI::App& parent, Registry& reg, const char* name, const char* about,
               const char* example, std::shared_ptr<BackupFlags> f,
               int (*run)(const CLI::App&, const BackupFlags&)) {
  CLI::App* c = parent.add_subcommand(name, about);
  AddOutputOption(*c, f->output);
  AddServerOption(*c, f->server);
  c->footer(std::string("Example:\n  ") + example);
  reg.Add(c, [c, f, run] { return run(*c, *f); });
  return c;
}

void AddBackupWait(CLI::App& cmd, BackupFlags& f, const std::string& what) {
  cmd.add_flag("-w,--wait", f.wait, what);
  cmd.add_option("--timeout", f.timeout_seconds, "With --wait: give up after this many seconds")
      ->type_name("SECONDS")
      ->check(CLI::Range(1, 24 * 3600))
      ->capture_default_str();
}

}  // namespace

void AddBackupVerbs(CLI::App& app, Registry& reg) {
  CLI::App* backup = app.add_subcommand(
      "backup",
      "Back up workloads to S3 (PostgreSQL with point-in-time recovery; S3 and custom volumes)");
  backup->group("Backups");

  CLI::App* target = backup->add_subcommand("target", "Manage where backups go (S3 buckets)");
  auto af = std::make_shared<BackupFlags>();
  CLI::App* add = Leaf(*target, reg, "add", "Add a backup target",
                       "lattice backup target add offsite --endpoint https://s3.example.net "
                       "--bucket pg --access-key AK --secret-key-file key.txt",
                       af, RunTargetAdd);
  add->add_option("name", af->name, "Its name (lower-case letters, digits, '-')")->required();
  add->add_option("--bucket", af->bucket, "The bucket")->required();
  add->add_option("--endpoint", af->endpoint, "http(s)://host[:port] of an S3 API");
  add->add_option("--access-key", af->access_key, "The access key");
  add->add_option("--secret-key-file", af->secret_key_file,
                  "A file holding the secret key ('-': standard input)");
  add->add_option("--workload", af->workload, "One of your S3 workloads, instead of an endpoint");
  add->add_option("--region", af->region, "The bucket's region (default us-east-1)");
  add->add_option("--prefix", af->prefix, "A key prefix inside the bucket");
  auto lf = std::make_shared<BackupFlags>();
  Leaf(*target, reg, "ls", "List your backup targets", "lattice backup target ls", lf, RunTargetLs);
  auto rf = std::make_shared<BackupFlags>();
  CLI::App* rm = Leaf(*target, reg, "rm", "Remove a backup target",
                      "lattice backup target rm offsite", rf, RunTargetRm);
  rm->add_option("target", rf->name, "Its name or id")->required();
  AddChoiceGroup(*target, reg, "action");

  auto sf = std::make_shared<BackupFlags>();
  CLI::App* schedule = Leaf(
      *backup, reg, "schedule", "Set where and how often a database is backed up",
      "lattice backup schedule db --target offsite --cron '30 2 * * *' --keep 7", sf, RunSchedule);
  schedule->add_option("workload", sf->name, "The workload (name or id)")->required();
  schedule->add_option("--target", sf->target, "The backup target (name or id)")->required();
  schedule->add_option("--every", sf->every, "Seconds between backups (0: on demand only)")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{366} * 86400));
  schedule
      ->add_option("--cron", sf->cron,
                   "A cron expression in UTC, e.g. '30 2 * * *' (daily at 02:30) or @daily")
      ->excludes("--every");
  schedule->add_option("--keep", sf->keep, "How many backups to keep (0: no limit)")
      ->check(CLI::Range(0, 1000));
  schedule->add_option("--keep-days", sf->keep_days, "Days to keep backups (0: no limit)")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{3650}));
  schedule->add_flag("--no-verify", sf->no_verify, "Do not verify new backups by restoring them");

  auto nf = std::make_shared<BackupFlags>();
  CLI::App* now = Leaf(*backup, reg, "now", "Back a workload up now",
                       "lattice backup now db --wait", nf, RunNow);
  now->add_option("workload", nf->name, "The workload (name or id)")->required();
  AddBackupWait(*now, *nf, "Wait until it ended and was verified (exit 1 if it failed)");

  auto vf = std::make_shared<BackupFlags>();
  CLI::App* verify = Leaf(*backup, reg, "verify", "Verify a backup again by restoring it",
                          "lattice backup verify db bk_123 --wait", vf, RunVerify);
  verify->add_option("workload", vf->name, "The workload (name or id)")->required();
  verify->add_option("backup", vf->backup_id, "The backup's id (from `backup ls`)")->required();
  AddBackupWait(*verify, *vf, "Wait until it is verified (exit 1 if it failed)");

  auto bf = std::make_shared<BackupFlags>();
  CLI::App* ls = Leaf(*backup, reg, "ls", "List a workload's backups",
                      "lattice backup ls db -o json", bf, RunLs);
  ls->add_option("workload", bf->name, "The workload (name or id)")->required();

  auto xf = std::make_shared<BackupFlags>();
  CLI::App* restore =
      Leaf(*backup, reg, "restore",
           "Restore a backup into a new workload (new credentials), or in place with --in-place",
           "lattice backup restore db --as db-yesterday --time 2026-12-06T18:00:00Z --wait", xf,
           RunRestore);
  restore->add_option("workload", xf->name, "The workload backed up (name or id)")->required();
  restore->add_option("--as", xf->as, "The new workload's name");
  restore->add_flag("--in-place", xf->in_place,
                    "Replace this workload's own data instead (its name, endpoint and "
                    "credentials stay; the data before is removed once the restore runs)");
  restore->add_option("--confirm", xf->confirm,
                      "With --in-place: the workload's name again, to confirm its data is "
                      "replaced");
  restore->add_option("--backup", xf->backup_id, "The backup to restore (an id from `backup ls`)");
  restore->add_option("--time", xf->time,
                      "Recover to this moment (RFC 3339 with a zone, e.g. 2026-12-06T18:00:00Z)");
  AddWaitOptions(*restore, xf->wait, xf->timeout_seconds, "running");
  AddChoiceGroup(*backup, reg, "command");
}

}  // namespace lattice::cli
