#include "api/backups_handlers.h"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <chrono>

#include "api/workload_json.h"
#include "common/clock.h"
#include "common/json_util.h"
#include "http/problem.h"

namespace lattice::api {
namespace {

using http::Access;
using http::Reply;
using http::RequestContext;
namespace bhttp = http::bhttp;
namespace json = boost::json;
namespace asio = boost::asio;

json::value TimeOrNull(std::int64_t t) {
  return t > 0 ? json::value(FormatTimestamp(t)) : json::value(nullptr);
}

json::object TargetJson(const store::BackupTarget& t) {
  json::object o{{"id", t.id},         {"name", t.name},
                 {"bucket", t.bucket}, {"region", t.region},
                 {"prefix", t.prefix}, {"created_at", FormatTimestamp(t.created_at)}};
  o["probe"] = json::object{{"status", Name(t.probe_status)},
                            {"message", t.probe_message},
                            {"checked_at", TimeOrNull(t.probed_at)}};
  if (t.source_workload_id.empty()) {
    o["kind"] = "external";
    o["endpoint"] = t.endpoint;
    o["workload_id"] = nullptr;
  } else {
    o["kind"] = "workload";
    o["endpoint"] = nullptr;
    o["workload_id"] = t.source_workload_id;
  }
  return o;
}

json::object PolicyJson(const store::BackupPolicy& p) {
  return {{"workload_id", p.workload_id},
          {"target_id", p.target_id},
          {"interval_seconds", p.interval_seconds},
          {"cron", p.cron},
          {"keep_count", p.keep_count},
          {"keep_days", p.keep_seconds / 86400},
          {"verify", p.verify},
          {"next_run_at", TimeOrNull(p.next_due_at)},
          {"updated_at", FormatTimestamp(p.updated_at)},
          {"archiving",
           {{"state", Name(p.archive_state)},
            {"message", p.archive_message},
            {"changed_at", TimeOrNull(p.archive_changed_at)}}}};
}

json::object BackupJson(const store::Backup& b) {
  json::object verification{{"status", Name(b.verify_status)},
                            {"verified_at", TimeOrNull(b.verified_at)},
                            {"duration_ms", b.verify_duration_ms},
                            {"tables", b.verify_tables},
                            {"rows", b.verify_rows},
                            {"message", b.verify_message}};
  return {{"id", b.id},
          {"workload_id", b.workload_id},
          {"kind", Name(b.kind)},
          {"target_id", b.target_id},
          {"trigger", b.trigger},
          {"status", Name(b.status)},
          {"started_at", FormatTimestamp(b.started_at)},
          {"finished_at", TimeOrNull(b.finished_at)},
          {"size_bytes", b.size_bytes},
          {"duration_ms", b.duration_ms},
          {"start_lsn", b.start_lsn},
          {"end_lsn", b.end_lsn},
          {"error_code", b.error_code.empty() ? json::value(nullptr) : json::value(b.error_code)},
          {"message", b.message},
          {"verification", std::move(verification)}};
}

Result<control::TargetRequest> ReadTarget(const RequestContext& req) {
  auto obj = ParseJsonObject(req.req.body());
  if (!obj.ok()) return std::move(obj).error();
  FieldReader r(*obj);
  r.RefuseUnknown({"name", "endpoint", "access_key", "secret_key", "workload", "bucket", "region",
                   "prefix", "check"});
  control::TargetRequest t;
  t.name = r.RequiredString("name");
  t.bucket = r.RequiredString("bucket");
  t.endpoint = r.OptionalString("endpoint").value_or("");
  t.access_key = r.OptionalString("access_key").value_or("");
  t.secret_key = r.OptionalString("secret_key").value_or("");
  t.workload = r.OptionalString("workload").value_or("");
  t.region = r.OptionalString("region").value_or("");
  t.prefix = r.OptionalString("prefix").value_or("");
  if (auto b = r.OptionalBool("check")) t.check = *b;
  if (!r.ok()) return r.ToError();
  return t;
}

// An optional non-negative integer member; records an error if mistyped.
std::int64_t OptionalCount(const json::object& o, FieldReader& r, std::string_view k,
                           std::int64_t fallback) {
  const json::value* v = o.if_contains(k);
  if (!v || v->is_null()) return fallback;
  if (v->is_int64() && v->as_int64() >= 0) return v->as_int64();
  r.AddError(std::string(k), "must be a non-negative integer");
  return fallback;
}

Result<control::PolicyRequest> ReadPolicy(const RequestContext& req) {
  auto obj = ParseJsonObject(req.req.body());
  if (!obj.ok()) return std::move(obj).error();
  FieldReader r(*obj);
  r.RefuseUnknown({"target_id", "interval_seconds", "cron", "keep_count", "keep_days", "verify"});
  control::PolicyRequest p;
  p.target_id = r.RequiredString("target_id");
  p.interval_seconds = OptionalCount(*obj, r, "interval_seconds", 0);
  p.cron = r.OptionalString("cron").value_or("");
  p.keep_count =
      static_cast<int>(std::min<std::int64_t>(OptionalCount(*obj, r, "keep_count", 0), 1 << 30));
  p.keep_days = OptionalCount(*obj, r, "keep_days", 0);
  if (auto b = r.OptionalBool("verify")) p.verify = *b;
  if (!r.ok()) return r.ToError();
  return p;
}

Result<control::RestoreRequest> ReadRestore(const RequestContext& req) {
  auto obj = ParseJsonObject(req.req.body());
  if (!obj.ok()) return std::move(obj).error();
  FieldReader r(*obj);
  r.RefuseUnknown({"name", "backup_id", "target_time", "in_place", "confirm"});
  control::RestoreRequest out;
  out.in_place = r.OptionalBool("in_place").value_or(false);
  out.name = out.in_place ? r.OptionalString("name").value_or("") : r.RequiredString("name");
  out.backup_id = r.OptionalString("backup_id").value_or("");
  out.target_time = r.OptionalString("target_time").value_or("");
  out.confirm = r.OptionalString("confirm").value_or("");
  if (!r.ok()) return r.ToError();
  return out;
}

// The field a failed probe points at, from the tool's code.
std::string ProbeField(const std::string& message, bool own_workload) {
  auto has = [&](const char* code) { return message.rfind(code, 0) == 0; };
  if (has("bucket-missing")) return "bucket";
  if (has("target-auth")) return own_workload ? "workload" : "secret_key";
  if (has("target-unreachable")) return own_workload ? "workload" : "endpoint";
  return own_workload ? "workload" : "endpoint";
}

// Waits (its thread free) until the node answered the target's probe or `wait` passed.
asio::awaitable<store::BackupTarget> AwaitProbe(ApiContext& ctx, const Principal& who,
                                                store::BackupTarget t,
                                                std::chrono::milliseconds wait) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (t.probe_status == ProbeStatus::kPending && std::chrono::steady_clock::now() < deadline) {
    timer.expires_after(std::chrono::milliseconds(200));
    co_await timer.async_wait(asio::use_awaitable);
    auto now = ctx.backups.GetTarget(who, t.id);
    if (!now.ok()) break;
    t = std::move(now).value();
  }
  co_return t;
}

}  // namespace

void AddBackupRoutes(http::Router& router, ApiContext& ctx) {
  router.Add(
      bhttp::verb::post, "/api/v1/backup-targets", Access::kUser,
      [&ctx](RequestContext& req) -> asio::awaitable<Reply> {
        auto in = ReadTarget(req);
        if (!in.ok()) co_return http::ProblemReply(in.error(), req.path);
        auto made = ctx.backups.CreateTarget(*req.principal, *in);
        const audit::Actor who = audit::Actor::Of(*req.principal);
        if (!made.ok()) {
          ctx.audit.Failure(who, "backup-target.create", "", req.remote_addr, made.error());
          co_return http::ProblemReply(made.error(), req.path);
        }
        // A target that does not work is not kept: the answer says what failed.
        store::BackupTarget t = co_await AwaitProbe(ctx, *req.principal, std::move(made).value(),
                                                    ctx.target_probe_wait);
        if (t.probe_status == ProbeStatus::kFailed) {
          (void)ctx.backups.DeleteTarget(*req.principal, t.id);
          Error e = Error::Invalid(
              "The backup target does not work: " + t.probe_message,
              {{ProbeField(t.probe_message, !t.source_workload_id.empty()), t.probe_message}});
          ctx.audit.Failure(who, "backup-target.create", t.id, req.remote_addr, e);
          co_return http::ProblemReply(e, req.path);
        }
        ctx.audit.Success(who, "backup-target.create", t.id, req.remote_addr);
        co_return http::JsonReply(bhttp::status::created, TargetJson(t));
      });
  router.Add(bhttp::verb::get, "/api/v1/backup-targets", Access::kUser,
             [&ctx](RequestContext& req) -> asio::awaitable<Reply> {
               auto list = ctx.backups.ListTargets(*req.principal);
               if (!list.ok()) co_return http::ProblemReply(list.error(), req.path);
               json::array items;
               for (const auto& t : *list) items.push_back(TargetJson(t));
               co_return http::JsonReply(bhttp::status::ok, {{"items", std::move(items)}});
             });
  router.Add(bhttp::verb::post, "/api/v1/backup-targets/{id}/check", Access::kUser,
             [&ctx](RequestContext& req) -> asio::awaitable<Reply> {
               const std::string id(req.Param("id"));
               auto t = ctx.backups.ProbeTarget(*req.principal, id);
               ctx.audit.Outcome(audit::Actor::Of(*req.principal), "backup-target.check", id,
                                 req.remote_addr, t);
               if (!t.ok()) co_return http::ProblemReply(t.error(), req.path);
               store::BackupTarget done = co_await AwaitProbe(
                   ctx, *req.principal, std::move(t).value(), ctx.target_probe_wait);
               co_return http::JsonReply(bhttp::status::ok, TargetJson(done));
             });
  router.Add(bhttp::verb::delete_, "/api/v1/backup-targets/{id}", Access::kUser,
             [&ctx](RequestContext& req) -> asio::awaitable<Reply> {
               const std::string id(req.Param("id"));
               Status s = ctx.backups.DeleteTarget(*req.principal, id);
               const audit::Actor who = audit::Actor::Of(*req.principal);
               if (!s.ok()) {
                 ctx.audit.Failure(who, "backup-target.delete", id, req.remote_addr, s.error());
                 co_return http::ProblemReply(s.error(), req.path);
               }
               ctx.audit.Success(who, "backup-target.delete", id, req.remote_addr);
               co_return http::EmptyReply(bhttp::status::no_content);
             });

  router.Add(bhttp::verb::put, "/api/v1/workloads/{id}/backup-policy", Access::kUser,
             [&ctx](RequestContext& req) -> asio::awaitable<Reply> {
               const std::string id(req.Param("id"));
               auto in = ReadPolicy(req);
               if (!in.ok()) co_return http::ProblemReply(in.error(), req.path);
               auto put = ctx.backups.PutPolicy(*req.principal, id, *in);
               ctx.audit.Outcome(audit::Actor::Of(*req.principal), "backup-policy.set", id,
                                 req.remote_addr, put);
               if (!put.ok()) co_return http::ProblemReply(put.error(), req.path);
               co_return http::JsonReply(bhttp::status::ok, PolicyJson(*put));
             });
  router.Add(bhttp::verb::get, "/api/v1/workloads/{id}/backup-policy", Access::kUser,
             [&ctx](RequestContext& req) -> asio::awaitable<Reply> {
               auto p = ctx.backups.GetPolicy(*req.principal, std::string(req.Param("id")));
               if (!p.ok()) co_return http::ProblemReply(p.error(), req.path);
               co_return http::JsonReply(bhttp::status::ok, PolicyJson(*p));
             });
  router.Add(bhttp::verb::delete_, "/api/v1/workloads/{id}/backup-policy", Access::kUser,
             [&ctx](RequestContext& req) -> asio::awaitable<Reply> {
               const std::string id(req.Param("id"));
               Status s = ctx.backups.DeletePolicy(*req.principal, id);
               const audit::Actor who = audit::Actor::Of(*req.principal);
               if (!s.ok()) {
                 ctx.audit.Failure(who, "backup-policy.delete", id, req.remote_addr, s.error());
                 co_return http::ProblemReply(s.error(), req.path);
               }
               ctx.audit.Success(who, "backup-policy.delete", id, req.remote_addr);
               co_return http::EmptyReply(bhttp::status::no_content);
             });

  router.Add(bhttp::verb::post, "/api/v1/workloads/{id}/backups", Access::kUser,
             [&ctx](RequestContext& req) -> asio::awaitable<Reply> {
               const std::string id(req.Param("id"));
               auto started = ctx.backups.BackupNow(*req.principal, id);
               ctx.audit.Outcome(audit::Actor::Of(*req.principal), "backup.start", id,
                                 req.remote_addr, started);
               if (!started.ok()) co_return http::ProblemReply(started.error(), req.path);
               co_return http::JsonReply(bhttp::status::accepted, BackupJson(*started));
             });
  router.Add(bhttp::verb::get, "/api/v1/workloads/{id}/backups", Access::kUser,
             [&ctx](RequestContext& req) -> asio::awaitable<Reply> {
               auto list = ctx.backups.List(*req.principal, std::string(req.Param("id")));
               if (!list.ok()) co_return http::ProblemReply(list.error(), req.path);
               json::array items;
               for (const auto& b : *list) items.push_back(BackupJson(b));
               co_return http::JsonReply(bhttp::status::ok, {{"items", std::move(items)}});
             });
  router.Add(bhttp::verb::post, "/api/v1/workloads/{id}/backups/{backup_id}/verify", Access::kUser,
             [&ctx](RequestContext& req) -> asio::awaitable<Reply> {
               const std::string id(req.Param("id"));
               const std::string backup_id(req.Param("backup_id"));
               auto started = ctx.backups.VerifyNow(*req.principal, id, backup_id);
               ctx.audit.Outcome(audit::Actor::Of(*req.principal), "backup.verify", backup_id,
                                 req.remote_addr, started);
               if (!started.ok()) co_return http::ProblemReply(started.error(), req.path);
               co_return http::JsonReply(bhttp::status::accepted, BackupJson(*started));
             });
  // Restore into a new workload: 202 with the new workload (it restores, then starts).
  router.Add(
      bhttp::verb::post, "/api/v1/workloads/{id}/restore", Access::kUser,
      [&ctx](RequestContext& req) -> asio::awaitable<Reply> {
        const std::string id(req.Param("id"));
        const audit::Actor who = audit::Actor::Of(*req.principal);
        auto in = ReadRestore(req);
        if (!in.ok()) co_return http::ProblemReply(in.error(), req.path);
        auto plan = ctx.backups.PlanRestore(*req.principal, id, *in);
        if (!plan.ok()) {
          ctx.audit.Failure(who, "workload.restore", id, req.remote_addr, plan.error());
          co_return http::ProblemReply(plan.error(), req.path);
        }
        if (plan->in_place) {
          auto restored = ctx.control.RestoreInPlace(*req.principal, id, *plan->extras.restore,
                                                     plan->extras.event);
          ctx.audit.Outcome(who, "workload.restore-in-place", id, req.remote_addr, restored);
          if (!restored.ok()) co_return http::ProblemReply(restored.error(), req.path);
          co_return http::JsonReply(bhttp::status::accepted, WorkloadJson(*restored));
        }
        // Written with the new workload, in its transaction.
        auto created = ctx.control.CreateWorkload(
            *req.principal, plan->request,
            ctx.audit.Event(who, "workload.restore", "", req.remote_addr, true,
                            "backup " + plan->backup.id + " of " + id + " into '" + in->name + "'" +
                                (plan->target_time.empty() ? "" : " to " + plan->target_time)),
            plan->extras);
        if (!created.ok()) {
          ctx.audit.Failure(who, "workload.restore", id, req.remote_addr, created.error());
          co_return http::ProblemReply(created.error(), req.path);
        }
        ctx.backups.RestoreStarted(*plan, *created);
        co_return http::JsonReply(bhttp::status::accepted, WorkloadJson(*created));
      });
  router.Add(bhttp::verb::get, "/api/v1/workloads/{id}/backups/{backup_id}", Access::kUser,
             [&ctx](RequestContext& req) -> asio::awaitable<Reply> {
               auto b = ctx.backups.Get(*req.principal, std::string(req.Param("id")),
                                        std::string(req.Param("backup_id")));
               if (!b.ok()) co_return http::ProblemReply(b.error(), req.path);
               co_return http::JsonReply(bhttp::status::ok, BackupJson(*b));
             });
}

}  // namespace lattice::api
