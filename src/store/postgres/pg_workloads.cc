// PostgresStore: workloads and their event timeline.
#include "store/postgres/pg_store.h"
#include "store/quota.h"
#include "store/workload_filter.h"

#include <array>
#include <string_view>

namespace lattice::store::postgres {
namespace {

constexpr const char* kWorkloadColumns =
    "id, owner_id, name, template, image, spec_enc, credentials_enc, ports_json, "
    "memory_mb, cpus, desired_state, generation, status, status_reason, observed_generation, "
    "node_id, bindings_json, created_at, updated_at";

Workload ReadWorkload(const PgResult& r, int row) {
  Workload w;
  w.id = r.Text(row, 0);
  w.owner_id = r.Text(row, 1);
  w.name = r.Text(row, 2);
  w.template_name = r.Text(row, 3);
  w.image = r.Text(row, 4);
  w.spec_enc = r.Bytes(row, 5);
  w.credentials_enc = r.Bytes(row, 6);
  w.ports_json = r.Text(row, 7);
  w.memory_mb = r.Int(row, 8);
  w.cpus = r.Double(row, 9);
  w.desired_state = ParseDesiredState(r.Text(row, 10)).value_or(DesiredState::kStopped);
  w.generation = r.Int(row, 11);
  w.status = ParseWorkloadStatus(r.Text(row, 12)).value_or(WorkloadStatus::kFailed);
  w.status_reason = r.Text(row, 13);
  w.observed_generation = r.Int(row, 14);
  w.node_id = r.Text(row, 15);
  w.bindings_json = r.Text(row, 16);
  w.created_at = r.Int(row, 17);
  w.updated_at = r.Int(row, 18);
  return w;
}

Status InsertWorkload(Connection& conn, const Workload& w) {
  auto r = conn.Exec(
      "INSERT INTO workloads(id, owner_id, name, template, image, spec_enc, credentials_enc, "
      "ports_json, memory_mb, cpus, desired_state, generation, status, status_reason, "
      "observed_generation, node_id, bindings_json, created_at, updated_at) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, "
      "$19)",
      Params()
          .Add(w.id)
          .Add(w.owner_id)
          .Add(w.name)
          .Add(w.template_name)
          .Add(w.image)
          .AddBytes(w.spec_enc)
          .AddBytes(w.credentials_enc)
          .Add(w.ports_json)
          .Add(w.memory_mb)
          .Add(w.cpus)
          .Add(Name(w.desired_state))
          .Add(w.generation)
          .Add(Name(w.status))
          .Add(w.status_reason)
          .Add(w.observed_generation)
          .Add(w.node_id)
          .Add(w.bindings_json)
          .Add(w.created_at)
          .Add(w.updated_at));
  if (!r.ok()) {
    Error e = std::move(r).error();
    if (e.code == ErrorCode::kConflict) {
      e.message = "You already have a workload named '" + w.name + "'.";
      e.fields = {{"name", "is already in use"}};
    }
    return e;
  }
  return Status::Ok();
}

Status InsertEvent(Connection& conn, const WorkloadEvent& e) {
  auto r = conn.Exec(
      "INSERT INTO workload_events(workload_id, at, status, message) VALUES ($1, $2, $3, $4)",
      Params().Add(e.workload_id).Add(e.at).Add(Name(e.status)).Add(e.message));
  if (!r.ok()) return std::move(r).error();
  return Status::Ok();
}

}  // namespace

Status PostgresStore::CreateWorkload(const NewWorkload& n) {
  const Workload& w = n.workload;
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  Connection& conn = **c;
  return InTransaction(conn, [&]() -> Status {
    if (HasLimits(n.quota)) {  // else nothing to count
      // Locking the owner's row serialises this owner's creates (across servers too): a
      // concurrent create waits here, then counts this one's workload.
      auto owner =
          conn.Exec("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", Params().Add(w.owner_id));
      if (!owner.ok()) return std::move(owner).error();
      auto rows = conn.Exec(
          "SELECT memory_mb, cpus FROM workloads WHERE owner_id = $1 AND desired_state <> "
          "'deleted'",
          Params().Add(w.owner_id));
      if (!rows.ok()) return std::move(rows).error();
      QuotaUse used;
      for (int i = 0; i < rows->rows(); ++i) {
        Workload other;
        other.memory_mb = rows->Int(i, 0);
        other.cpus = rows->Double(i, 1);
        const QuotaUse one = Charge(other, n.quota);
        used.workloads += one.workloads;
        used.memory_mb += one.memory_mb;
        used.cpus += one.cpus;
      }
      if (Status q = CheckQuota(n.quota, used, Charge(w, n.quota)); !q.ok()) return q;
    }
    if (Status s = InsertWorkload(conn, w); !s.ok()) return s;
    for (const PublicPort& p : n.ports)
      if (Status s = InsertPublicPort(conn, {p.port, w.id, p.container_port}); !s.ok()) return s;
    if (n.first_event) {
      WorkloadEvent e = *n.first_event;
      e.workload_id = w.id;
      if (Status s = InsertEvent(conn, e); !s.ok()) return s;
    }
    if (n.audit)
      if (Status s = InsertAudit(conn, *n.audit); !s.ok()) return s;
    return Status::Ok();
  });
}

Result<Workload> PostgresStore::GetWorkload(const std::string& id) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  static const std::string sql =
      std::string("SELECT ") + kWorkloadColumns + " FROM workloads WHERE id = $1";
  auto r = (*c)->Exec(sql, Params().Add(id));
  if (!r.ok()) return std::move(r).error();
  if (r->rows() == 0) return Error::NotFound("workload not found");
  return ReadWorkload(*r, 0);
}

Result<std::vector<Workload>> PostgresStore::ListWorkloads(const WorkloadFilter& f) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  // One prepared statement per filter combination (store/workload_filter.h).
  static const std::array<std::string, 8> kShapes = WorkloadListStatements(
      std::string("SELECT ") + kWorkloadColumns + " FROM workloads", Placeholders::kNumbered);
  Params params;
  for (std::string_view v : FilterValues(f)) params.Add(v);
  auto r = (*c)->Exec(kShapes[FilterShape(f)], params);
  if (!r.ok()) return std::move(r).error();
  std::vector<Workload> out;
  out.reserve(static_cast<std::size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i) out.push_back(ReadWorkload(*r, i));
  return out;
}

Result<std::map<std::string, std::int64_t>> PostgresStore::AllocatedMemoryByNode(
    std::int64_t default_request_mb) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  static const std::string sql =
      "SELECT node_id, SUM(CASE WHEN memory_mb > 0 THEN memory_mb ELSE $1 END)::bigint "
      "FROM workloads WHERE node_id <> '' AND desired_state <> 'deleted' GROUP BY node_id";
  auto r = (*c)->Exec(sql, Params().Add(default_request_mb));
  if (!r.ok()) return std::move(r).error();
  std::map<std::string, std::int64_t> out;
  for (int i = 0; i < r->rows(); ++i) out.emplace(r->Text(i, 0), r->Int(i, 1));
  return out;
}

Result<Workload> PostgresStore::SetDesiredState(const std::string& id, DesiredState desired,
                                                WorkloadStatus status, std::int64_t now) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  static const std::string sql =
      std::string(
          "UPDATE workloads SET desired_state = $1, status = $2, status_reason = '', "
          "generation = generation + 1, updated_at = $3 WHERE id = $4 RETURNING ") +
      kWorkloadColumns;
  auto r = (*c)->Exec(sql, Params().Add(Name(desired)).Add(Name(status)).Add(now).Add(id));
  if (!r.ok()) return std::move(r).error();
  if (r->rows() == 0) return Error::NotFound("workload not found");
  return ReadWorkload(*r, 0);
}

Status PostgresStore::SetPlacement(const std::string& id, const std::string& node_id,
                                   WorkloadStatus status, const std::string& reason,
                                   std::int64_t now) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  auto r = (*c)->Exec(
      "UPDATE workloads SET node_id = $1, status = $2, status_reason = $3, updated_at = $4 "
      "WHERE id = $5",
      Params().Add(node_id).Add(Name(status)).Add(reason).Add(now).Add(id));
  if (!r.ok()) return std::move(r).error();
  if (r->affected() == 0) return Error::NotFound("workload not found");
  return Status::Ok();
}

Status PostgresStore::SetObservedStatus(const std::string& id, std::int64_t observed_generation,
                                        WorkloadStatus status, const std::string& reason,
                                        const std::string& bindings_json, std::int64_t now) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  // Only the report for the current generation may change the status (see SqliteStore).
  auto r = (*c)->Exec(
      "UPDATE workloads SET observed_generation = $1, status = $2, status_reason = $3, "
      "bindings_json = $4, updated_at = $5 WHERE id = $6 AND generation = $1",
      Params()
          .Add(observed_generation)
          .Add(Name(status))
          .Add(reason)
          .Add(bindings_json)
          .Add(now)
          .Add(id));
  if (!r.ok()) return std::move(r).error();
  return Status::Ok();
}

Status PostgresStore::DeleteWorkload(const std::string& id) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  Connection& conn = **c;
  return InTransaction(conn, [&]() -> Status {
    auto ev = conn.Exec("DELETE FROM workload_events WHERE workload_id = $1", Params().Add(id));
    if (!ev.ok()) return std::move(ev).error();
    auto pp = conn.Exec("DELETE FROM public_ports WHERE workload_id = $1", Params().Add(id));
    if (!pp.ok()) return std::move(pp).error();
    auto mp = conn.Exec("DELETE FROM metric_points WHERE series = $1", Params().Add(id));
    if (!mp.ok()) return std::move(mp).error();
    for (const char* sql : {"DELETE FROM probe_endpoints WHERE workload_id = $1",
                            "DELETE FROM probe_results WHERE workload_id = $1"}) {
      auto pr = conn.Exec(sql, Params().Add(id));
      if (!pr.ok()) return std::move(pr).error();
    }
    auto r = conn.Exec("DELETE FROM workloads WHERE id = $1", Params().Add(id));
    if (!r.ok()) return std::move(r).error();
    if (r->affected() == 0) return Error::NotFound("workload not found");
    return Status::Ok();
  });
}

Status PostgresStore::UpdateWorkloadSpec(const std::string& id, const std::string& spec_enc) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  auto r = (*c)->Exec("UPDATE workloads SET spec_enc = $1 WHERE id = $2",
                      Params().AddBytes(spec_enc).Add(id));
  if (!r.ok()) return std::move(r).error();
  if (r->affected() != 1) return Error::NotFound("workload not found");
  return Status::Ok();
}

Status PostgresStore::AppendEvent(const WorkloadEvent& e) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  return InsertEvent(**c, e);
}

Result<std::vector<WorkloadEvent>> PostgresStore::ListEvents(const std::string& workload_id,
                                                             int limit) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  auto r = (*c)->Exec(
      "SELECT id, workload_id, at, status, message FROM (SELECT * FROM workload_events "
      "WHERE workload_id = $1 ORDER BY id DESC LIMIT $2) AS recent ORDER BY id",
      Params().Add(workload_id).Add(limit));
  if (!r.ok()) return std::move(r).error();
  std::vector<WorkloadEvent> out;
  out.reserve(static_cast<std::size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i)
    out.push_back({r->Int(i, 0), r->Text(i, 1), r->Int(i, 2),
                   ParseWorkloadStatus(r->Text(i, 3)).value_or(WorkloadStatus::kFailed),
                   r->Text(i, 4)});
  return out;
}

}  // namespace lattice::store::postgres
