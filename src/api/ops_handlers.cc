#include "api/ops_handlers.h"

#include <boost/json.hpp>

#include "api/metrics_handlers.h"
#include "http/problem.h"

namespace lattice::api {

using http::Access;
using http::Reply;
using http::RequestContext;
namespace bhttp = http::bhttp;

namespace {

// Per workload with backups: when its newest backup succeeded and when one last passed
// verification (0 if never: an alert on `time() - x > interval` fires for those too), and how
// many of its listed backups or verifications failed.
std::string BackupMetrics(const std::vector<store::BackupSummary>& all) {
  struct Series {
    const char* name;
    const char* type;
    const char* help;
    std::int64_t store::BackupSummary::*field;
  };
  static constexpr Series kSeries[] = {
      {"lattice_backup_last_success_timestamp_seconds", "gauge",
       "When the workload's newest successful backup finished (Unix time; 0: never).",
       &store::BackupSummary::last_success_at},
      {"lattice_backup_last_verified_timestamp_seconds", "gauge",
       "When a backup of the workload last passed verification (Unix time; 0: never).",
       &store::BackupSummary::last_verified_at},
      {"lattice_backup_failed", "gauge",
       "Listed backups or verifications of the workload that failed.",
       &store::BackupSummary::failed},
  };
  std::string out;
  for (const Series& s : kSeries) {
    out +=
        std::string("# HELP ") + s.name + " " + s.help + "\n# TYPE " + s.name + " " + s.type + "\n";
    for (const auto& b : all)  // workload ids are [a-z0-9_]: nothing to escape
      out += std::string(s.name) + "{workload=\"" + b.workload_id + "\"} " +
             std::to_string(b.*(s.field)) + "\n";
  }
  return out;
}

// Per database with a backup policy whose node has said how its continuous WAL archiving is
// doing: 1 archiving, 0 failing (an alert on `== 0` says the recovery point is slipping).
std::string ArchiveMetrics(const std::vector<store::BackupPolicy>& all) {
  std::string out =
      "# HELP lattice_backup_wal_archiving Whether the workload's continuous WAL archiving runs "
      "(1) or fails (0), as its node last said.\n# TYPE lattice_backup_wal_archiving gauge\n";
  for (const auto& p : all)
    if (p.archive_state != ArchiveState::kUnknown)
      out += "lattice_backup_wal_archiving{workload=\"" + p.workload_id + "\"} " +
             (p.archive_state == ArchiveState::kArchiving ? "1" : "0") + "\n";
  return out;
}

}  // namespace

void AddOpsRoutes(http::Router& router, ApiContext& ctx) {
  router.Add(
      bhttp::verb::get, "/healthz", Access::kPublic,
      [](RequestContext&) -> boost::asio::awaitable<Reply> {
        co_return http::JsonReply(bhttp::status::ok, {{"status", "ok"}});
      },
      http::UsesStore::kNo);
  router.Add(bhttp::verb::get, "/readyz", Access::kPublic,
             [&ctx](RequestContext& req) -> boost::asio::awaitable<Reply> {
               if (Status s = ctx.store.Ping(); !s.ok()) {
                 co_return http::ProblemReply(
                     Error::Unavailable("The store is not reachable: " + s.error().message),
                     req.path);
               }
               co_return http::JsonReply(bhttp::status::ok, {{"status", "ready"}});
             });
  // Request counts and latencies by route say what the server is used for, the backup series
  // whether every database is protected, the usage series what each workload and node uses:
  // administrators only (a scraper signs in with
  // an admin's token).
  router.Add(bhttp::verb::get, "/metrics", Access::kAdmin,
             [&ctx](RequestContext&) -> boost::asio::awaitable<Reply> {
               std::string text = ctx.metrics.Render();
               auto backups = ctx.store.Backups().SummarizeBackups();
               if (backups.ok()) text += BackupMetrics(*backups);
               auto policies = ctx.store.Backups().ListBackupPolicies();
               if (policies.ok()) text += ArchiveMetrics(*policies);
               // Each workload's and node's newest resource usage (docs/metrics.md).
               auto usage = ctx.metrics_service.Latest();
               if (usage.ok()) text += UsagePrometheus(*usage);
               co_return http::TextReply(bhttp::status::ok, std::move(text),
                                         "text/plain; version=0.0.4; charset=utf-8");
             });
}

}  // namespace lattice::api
