// SqliteStore: workloads and their event timeline.
#include "store/engine_neutral.h"
#include "store/quota.h"
#include "store/sqlite/sqlite_store.h"
#include "store/workload_filter.h"

#include <algorithm>
#include <array>
#include <map>
#include <set>

namespace lattice::store::sqlite {
namespace {

constexpr const char* kWorkloadSelect =
    "SELECT id, owner_id, name, template, image, spec_enc, credentials_enc, ports_json, "
    "memory_mb, cpus, desired_state, generation, status, status_reason, observed_generation, "
    "node_id, bindings_json, created_at, updated_at FROM workloads";

Workload ReadWorkload(const Stmt& s) {
  Workload w;
  w.id = s.Text(0);
  w.owner_id = s.Text(1);
  w.name = s.Text(2);
  w.template_name = s.Text(3);
  w.image = s.Text(4);
  w.spec_enc = s.Blob(5);
  w.credentials_enc = s.Blob(6);
  w.ports_json = s.Text(7);
  w.memory_mb = s.Int(8);
  w.cpus = s.Double(9);
  w.desired_state = ParseDesiredState(s.Text(10)).value_or(DesiredState::kStopped);
  w.generation = s.Int(11);
  w.status = ParseWorkloadStatus(s.Text(12)).value_or(WorkloadStatus::kFailed);
  w.status_reason = s.Text(13);
  w.observed_generation = s.Int(14);
  w.node_id = s.Text(15);
  w.bindings_json = s.Text(16);
  w.created_at = s.Int(17);
  w.updated_at = s.Int(18);
  return w;
}

Status InsertWorkload(Connection& c, const Workload& w) {
  auto q = c.Prepare(
      "INSERT INTO workloads(id, owner_id, name, template, image, spec_enc, credentials_enc, "
      "ports_json, memory_mb, cpus, desired_state, generation, status, status_reason, "
      "observed_generation, node_id, bindings_json, created_at, updated_at) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, w.id)
      .Bind(2, w.owner_id)
      .Bind(3, w.name)
      .Bind(4, w.template_name)
      .Bind(5, w.image)
      .BindBlob(6, w.spec_enc)
      .BindBlob(7, w.credentials_enc)
      .Bind(8, w.ports_json)
      .Bind(9, w.memory_mb)
      .Bind(10, w.cpus)
      .Bind(11, Name(w.desired_state))
      .Bind(12, w.generation)
      .Bind(13, Name(w.status))
      .Bind(14, w.status_reason)
      .Bind(15, w.observed_generation)
      .Bind(16, w.node_id)
      .Bind(17, w.bindings_json)
      .Bind(18, w.created_at)
      .Bind(19, w.updated_at);
  if (int rc = (*q)->Step(); rc != SQLITE_DONE) {
    Error e = c.ToError(rc, "create workload");
    if (e.code == ErrorCode::kConflict) {
      e.message = "You already have a workload named '" + w.name + "'.";
      e.fields = {{"name", "is already in use"}};
    }
    return e;
  }
  return Status::Ok();
}

// What the owner's workloads that are not deleted count against `quota`.
Result<QuotaUse> OwnerUse(Connection& c, const std::string& owner_id, const Quota& quota) {
  auto q = c.Prepare(
      "SELECT memory_mb, cpus FROM workloads WHERE owner_id = ? AND desired_state != 'deleted'");
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, owner_id);
  QuotaUse use;
  int rc;
  while ((rc = (*q)->Step()) == SQLITE_ROW) {
    Workload w;
    w.memory_mb = (*q)->Int(0);
    w.cpus = (*q)->Double(1);
    const QuotaUse one = Charge(w, quota);
    use.workloads += one.workloads;
    use.memory_mb += one.memory_mb;
    use.cpus += one.cpus;
  }
  if (rc != SQLITE_DONE) return c.ToError(rc, "sum workloads");
  return use;
}

Status InsertEvent(Connection& c, const WorkloadEvent& e) {
  auto q = c.Prepare(
      "INSERT INTO workload_events(workload_id, at, status, message) VALUES (?, ?, ?, ?)");
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, e.workload_id).Bind(2, e.at).Bind(3, Name(e.status)).Bind(4, e.message);
  if (int rc = (*q)->Step(); rc != SQLITE_DONE) return c.ToError(rc, "append event");
  return Status::Ok();
}

// kConflict of type Store::kPortTaken when another workload holds the port.
Status InsertPublicPort(Connection& c, const PublicPort& p) {
  auto q =
      c.Prepare("INSERT INTO public_ports(port, workload_id, container_port) VALUES (?, ?, ?)");
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, static_cast<std::int64_t>(p.port))
      .Bind(2, p.workload_id)
      .Bind(3, static_cast<std::int64_t>(p.container_port));
  if (int rc = (*q)->Step(); rc != SQLITE_DONE) {
    Error e = c.ToError(rc, "allocate public port");
    if (e.code == ErrorCode::kConflict) e.type = Store::kPortTaken;
    return e;
  }
  return Status::Ok();
}

}  // namespace

Status SqliteStore::CreateWorkload(const NewWorkload& n) {
  const Workload& w = n.workload;
  auto c = Acquire();
  // BEGIN IMMEDIATE takes the write lock first: no other create can count or insert between
  // this one's count and its insert.
  return InTransaction(*c, [&]() -> Status {
    if (HasLimits(n.quota)) {  // else nothing to count
      auto used = OwnerUse(*c, w.owner_id, n.quota);
      if (!used.ok()) return std::move(used).error();
      if (Status s = CheckQuota(n.quota, *used, Charge(w, n.quota)); !s.ok()) return s;
    }
    if (Status s = InsertWorkload(*c, w); !s.ok()) return s;
    for (const PublicPort& p : n.ports)
      if (Status s = InsertPublicPort(*c, {p.port, w.id, p.container_port}); !s.ok()) return s;
    if (n.first_event) {
      WorkloadEvent e = *n.first_event;
      e.workload_id = w.id;
      if (Status s = InsertEvent(*c, e); !s.ok()) return s;
    }
    if (n.audit)
      if (Status s = InsertAudit(*c, *n.audit); !s.ok()) return s;
    return Status::Ok();
  });
}

Result<Workload> SqliteStore::GetWorkload(const std::string& id) {
  auto c = Acquire();
  static const std::string sql = std::string(kWorkloadSelect) + " WHERE id = ?";
  auto q = c->Prepare(sql.c_str());
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, id);
  const int rc = (*q)->Step();
  if (rc == SQLITE_ROW) return ReadWorkload(**q);
  if (rc == SQLITE_DONE) return Error::NotFound("workload not found");
  return c->ToError(rc, "get workload");
}

Result<std::vector<Workload>> SqliteStore::ListWorkloads(const WorkloadFilter& f) {
  auto c = Acquire();
  // One statement per filter combination (store/workload_filter.h); the statement cache is
  // keyed by the text's address, so these strings live as long as the process.
  static const std::array<std::string, 8> kShapes =
      WorkloadListStatements(kWorkloadSelect, Placeholders::kQuestionMarks);
  auto q = c->Prepare(kShapes[FilterShape(f)].c_str());
  if (!q.ok()) return std::move(q).error();
  int i = 0;
  for (std::string_view v : FilterValues(f)) (*q)->Bind(++i, v);
  std::vector<Workload> out;
  int rc;
  while ((rc = (*q)->Step()) == SQLITE_ROW) out.push_back(ReadWorkload(**q));
  if (rc != SQLITE_DONE) return c->ToError(rc, "list workloads");
  return out;
}

Result<std::map<std::string, std::int64_t>> SqliteStore::AllocatedMemoryByNode(
    std::int64_t default_request_mb) {
  auto c = Acquire();
  auto q = c->Prepare(
      "SELECT node_id, SUM(CASE WHEN memory_mb > 0 THEN memory_mb ELSE ? END) FROM workloads "
      "WHERE node_id != '' AND desired_state != 'deleted' GROUP BY node_id");
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, default_request_mb);
  std::map<std::string, std::int64_t> out;
  int rc;
  while ((rc = (*q)->Step()) == SQLITE_ROW) out.emplace((*q)->Text(0), (*q)->Int(1));
  if (rc != SQLITE_DONE) return c->ToError(rc, "sum allocations");
  return out;
}

Result<Workload> SqliteStore::SetDesiredState(const std::string& id, DesiredState desired,
                                              WorkloadStatus status, std::int64_t now) {
  {
    auto c = Acquire();
    auto q = c->Prepare(
        "UPDATE workloads SET desired_state = ?, status = ?, status_reason = '', "
        "generation = generation + 1, updated_at = ? WHERE id = ?");
    if (!q.ok()) return std::move(q).error();
    (*q)->Bind(1, Name(desired)).Bind(2, Name(status)).Bind(3, now).Bind(4, id);
    if (int rc = (*q)->Step(); rc != SQLITE_DONE) return c->ToError(rc, "set desired state");
    if (sqlite3_changes(c->raw()) == 0) return Error::NotFound("workload not found");
  }
  return GetWorkload(id);
}

Status SqliteStore::SetPlacement(const std::string& id, const std::string& node_id,
                                 WorkloadStatus status, const std::string& reason,
                                 std::int64_t now) {
  auto c = Acquire();
  auto q = c->Prepare(
      "UPDATE workloads SET node_id = ?, status = ?, status_reason = ?, updated_at = ? "
      "WHERE id = ?");
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, node_id).Bind(2, Name(status)).Bind(3, reason).Bind(4, now).Bind(5, id);
  if (int rc = (*q)->Step(); rc != SQLITE_DONE) return c->ToError(rc, "set placement");
  if (sqlite3_changes(c->raw()) == 0) return Error::NotFound("workload not found");
  return Status::Ok();
}

Status SqliteStore::SetObservedStatus(const std::string& id, std::int64_t observed_generation,
                                      WorkloadStatus status, const std::string& reason,
                                      const std::string& bindings_json, std::int64_t now) {
  auto c = Acquire();
  // Only the report for the current generation may change the status: a late report about
  // an older generation (e.g. "running" arriving after the user pressed stop) must not
  // overwrite the newer intent's status.
  auto q = c->Prepare(
      "UPDATE workloads SET observed_generation = ?1, status = ?2, status_reason = ?3, "
      "bindings_json = ?4, updated_at = ?5 WHERE id = ?6 AND generation = ?1");
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, observed_generation)
      .Bind(2, Name(status))
      .Bind(3, reason)
      .Bind(4, bindings_json)
      .Bind(5, now)
      .Bind(6, id);
  if (int rc = (*q)->Step(); rc != SQLITE_DONE) return c->ToError(rc, "set observed status");
  return Status::Ok();
}

Status SqliteStore::UpdateWorkloadSpec(const std::string& id, const std::string& spec_enc) {
  auto c = Acquire();
  auto q = c->Prepare("UPDATE workloads SET spec_enc = ? WHERE id = ?");
  if (!q.ok()) return std::move(q).error();
  (*q)->BindBlob(1, spec_enc).Bind(2, id);
  if (int rc = (*q)->Step(); rc != SQLITE_DONE) return c->ToError(rc, "update workload spec");
  if (sqlite3_changes(c->raw()) == 0) return Error::NotFound("workload not found");
  return Status::Ok();
}

Status SqliteStore::DeleteWorkload(const std::string& id) {
  auto c = Acquire();
  return InTransaction(*c, [&]() -> Status {
    auto ev = c->Prepare("DELETE FROM workload_events WHERE workload_id = ?");
    if (!ev.ok()) return std::move(ev).error();
    (*ev)->Bind(1, id);
    if (int rc = (*ev)->Step(); rc != SQLITE_DONE) return c->ToError(rc, "delete events");
    auto pp = c->Prepare("DELETE FROM public_ports WHERE workload_id = ?");
    if (!pp.ok()) return std::move(pp).error();
    (*pp)->Bind(1, id);
    if (int rc = (*pp)->Step(); rc != SQLITE_DONE) return c->ToError(rc, "release public ports");
    auto mp = c->Prepare("DELETE FROM metric_points WHERE series = ?");
    if (!mp.ok()) return std::move(mp).error();
    (*mp)->Bind(1, id);
    if (int rc = (*mp)->Step(); rc != SQLITE_DONE) return c->ToError(rc, "delete metrics");
    for (const char* sql : {"DELETE FROM probe_endpoints WHERE workload_id = ?",
                            "DELETE FROM probe_results WHERE workload_id = ?"}) {
      auto pr = c->Prepare(sql);
      if (!pr.ok()) return std::move(pr).error();
      (*pr)->Bind(1, id);
      if (int rc = (*pr)->Step(); rc != SQLITE_DONE) return c->ToError(rc, "delete probe results");
    }
    auto q = c->Prepare("DELETE FROM workloads WHERE id = ?");
    if (!q.ok()) return std::move(q).error();
    (*q)->Bind(1, id);
    if (int rc = (*q)->Step(); rc != SQLITE_DONE) return c->ToError(rc, "delete workload");
    if (sqlite3_changes(c->raw()) == 0) return Error::NotFound("workload not found");
    return Status::Ok();
  });
}

Status SqliteStore::AppendEvent(const WorkloadEvent& e) {
  auto c = Acquire();
  return InsertEvent(*c, e);
}

Result<std::vector<WorkloadEvent>> SqliteStore::ListEvents(const std::string& workload_id,
                                                           int limit) {
  auto c = Acquire();
  auto q = c->Prepare(
      "SELECT id, workload_id, at, status, message FROM (SELECT * FROM workload_events "
      "WHERE workload_id = ? ORDER BY id DESC LIMIT ?) ORDER BY id");
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, workload_id).Bind(2, static_cast<std::int64_t>(limit));
  std::vector<WorkloadEvent> out;
  int rc;
  while ((rc = (*q)->Step()) == SQLITE_ROW) {
    const Stmt& s = **q;
    out.push_back({s.Int(0), s.Text(1), s.Int(2),
                   ParseWorkloadStatus(s.Text(3)).value_or(WorkloadStatus::kFailed), s.Text(4)});
  }
  if (rc != SQLITE_DONE) return c->ToError(rc, "list events");
  return out;
}

Result<std::vector<PublicPort>> SqliteStore::AllocatePublicPorts(
    const std::string& workload_id, const std::vector<int>& container_ports, int low, int high,
    const std::function<bool(int)>& usable) {
  auto c = Acquire();
  std::vector<PublicPort> out;
  Status s = InTransaction(*c, [&]() -> Status {
    auto all = c->Prepare("SELECT port, workload_id, container_port FROM public_ports");
    if (!all.ok()) return std::move(all).error();
    std::vector<PublicPort> held;
    int rc;
    while ((rc = (*all)->Step()) == SQLITE_ROW)
      held.push_back(
          {static_cast<int>((*all)->Int(0)), (*all)->Text(1), static_cast<int>((*all)->Int(2))});
    if (rc != SQLITE_DONE) return c->ToError(rc, "list public ports");
    auto plan = PlanPublicPorts(held, workload_id, container_ports, low, high, usable);
    if (!plan.ok()) return std::move(plan).error();
    for (const PublicPort& p : plan->to_insert)
      if (Status ins = InsertPublicPort(*c, p); !ins.ok()) return ins;
    out = std::move(plan->all);
    return Status::Ok();
  });
  if (!s.ok()) return std::move(s).error();
  return out;
}

Result<std::vector<PublicPort>> SqliteStore::ListPublicPorts() {
  auto c = Acquire();
  auto q = c->Prepare("SELECT port, workload_id, container_port FROM public_ports ORDER BY port");
  if (!q.ok()) return std::move(q).error();
  std::vector<PublicPort> out;
  int rc;
  while ((rc = (*q)->Step()) == SQLITE_ROW)
    out.push_back({static_cast<int>((*q)->Int(0)), (*q)->Text(1), static_cast<int>((*q)->Int(2))});
  if (rc != SQLITE_DONE) return c->ToError(rc, "list public ports");
  return out;
}

Result<std::vector<PublicPort>> SqliteStore::ListPublicPortsOf(const std::string& workload_id) {
  auto c = Acquire();
  auto q = c->Prepare(
      "SELECT port, workload_id, container_port FROM public_ports WHERE workload_id = ? "
      "ORDER BY port");
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, workload_id);
  std::vector<PublicPort> out;
  int rc;
  while ((rc = (*q)->Step()) == SQLITE_ROW)
    out.push_back({static_cast<int>((*q)->Int(0)), (*q)->Text(1), static_cast<int>((*q)->Int(2))});
  if (rc != SQLITE_DONE) return c->ToError(rc, "list public ports");
  return out;
}

}  // namespace lattice::store::sqlite
