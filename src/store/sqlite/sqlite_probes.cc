// SqliteStore: endpoint probe states and history (store/probe_store.h).
#include "store/sqlite/sqlite_store.h"

namespace lattice::store::sqlite {
namespace {

// Both statements insert nothing for a workload that no longer exists (?1 names it).
constexpr const char* kUpsertEndpoint =
    "INSERT INTO probe_endpoints(workload_id, container_port, public_port, state, reason, "
    "message, latency_us, at, changed_at) "
    "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9 WHERE EXISTS (SELECT 1 FROM workloads WHERE id = "
    "?1) "
    "ON CONFLICT(workload_id, container_port) DO UPDATE SET public_port = excluded.public_port, "
    "state = excluded.state, reason = excluded.reason, message = excluded.message, "
    "latency_us = excluded.latency_us, at = excluded.at, changed_at = excluded.changed_at";
constexpr const char* kInsertResult =
    "INSERT INTO probe_results(workload_id, container_port, at, public_port, state, reason, "
    "message, latency_us) "
    "SELECT ?1, ?2, ?8, ?3, ?4, ?5, ?6, ?7 WHERE EXISTS (SELECT 1 FROM workloads WHERE id = ?1) "
    "ON CONFLICT(workload_id, container_port, at) DO UPDATE SET public_port = "
    "excluded.public_port, "
    "state = excluded.state, reason = excluded.reason, message = excluded.message, "
    "latency_us = excluded.latency_us";

void BindRecord(Stmt& q, const ProbeRecord& r) {
  q.Bind(1, r.workload_id)
      .Bind(2, static_cast<std::int64_t>(r.container_port))
      .Bind(3, static_cast<std::int64_t>(r.public_port))
      .Bind(4, std::string(Name(r.state)))
      .Bind(5, r.reason)
      .Bind(6, r.message)
      .Bind(7, r.latency_us)
      .Bind(8, r.at);
}

// The columns both queries begin with: workload_id, container_port, public_port, state, reason,
// message, latency_us, at.
ProbeRecord RecordOf(Stmt& q) {
  ProbeRecord r;
  r.workload_id = q.Text(0);
  r.container_port = static_cast<int>(q.Int(1));
  r.public_port = static_cast<int>(q.Int(2));
  r.state = ParseEndpointState(q.Text(3)).value_or(EndpointState::kUnknown);
  r.reason = q.Text(4);
  r.message = q.Text(5);
  r.latency_us = q.Int(6);
  r.at = q.Int(7);
  return r;
}

}  // namespace

Status SqliteStore::RecordProbes(const std::vector<ProbeRecord>& records) {
  if (records.empty()) return Status::Ok();
  auto c = Acquire();
  return InTransaction(*c, [&]() -> Status {
    for (const ProbeRecord& r : records) {
      auto up = c->Prepare(kUpsertEndpoint);
      if (!up.ok()) return std::move(up).error();
      BindRecord(**up, r);
      (*up)->Bind(9, r.changed_at);
      if (int rc = (*up)->Step(); rc != SQLITE_DONE) return c->ToError(rc, "record a probe");
      if (!r.keep) continue;
      auto ins = c->Prepare(kInsertResult);
      if (!ins.ok()) return std::move(ins).error();
      BindRecord(**ins, r);
      if (int rc = (*ins)->Step(); rc != SQLITE_DONE) return c->ToError(rc, "keep a probe result");
    }
    return Status::Ok();
  });
}

Result<std::vector<ProbeRecord>> SqliteStore::ProbeEndpoints(const std::string& workload_id) {
  auto c = Acquire();
  auto s = c->Prepare(
      "SELECT workload_id, container_port, public_port, state, reason, message, latency_us, at, "
      "changed_at FROM probe_endpoints WHERE ?1 = '' OR workload_id = ?1 "
      "ORDER BY workload_id, container_port");
  if (!s.ok()) return std::move(s).error();
  (*s)->Bind(1, workload_id);
  std::vector<ProbeRecord> out;
  int rc;
  while ((rc = (*s)->Step()) == SQLITE_ROW) {
    ProbeRecord r = RecordOf(**s);
    r.changed_at = (*s)->Int(8);
    out.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return c->ToError(rc, "read probe states");
  return out;
}

Result<std::vector<ProbeRecord>> SqliteStore::ProbeHistory(const std::string& workload_id,
                                                           std::int64_t since, int limit) {
  auto c = Acquire();
  auto s = c->Prepare(
      "SELECT workload_id, container_port, public_port, state, reason, message, latency_us, at "
      "FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY container_port ORDER BY at DESC) AS n "
      "FROM probe_results WHERE workload_id = ?1 AND at >= ?2) WHERE n <= ?3 "
      "ORDER BY container_port, at");
  if (!s.ok()) return std::move(s).error();
  (*s)->Bind(1, workload_id).Bind(2, since).Bind(3, static_cast<std::int64_t>(limit));
  std::vector<ProbeRecord> out;
  int rc;
  while ((rc = (*s)->Step()) == SQLITE_ROW) {
    out.push_back(RecordOf(**s));
  }
  if (rc != SQLITE_DONE) return c->ToError(rc, "read probe history");
  return out;
}

Result<std::int64_t> SqliteStore::PruneProbes(std::int64_t before) {
  auto c = Acquire();
  auto q = c->Prepare("DELETE FROM probe_results WHERE at < ?");
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, before);
  if (int rc = (*q)->Step(); rc != SQLITE_DONE) return c->ToError(rc, "prune probe results");
  return static_cast<std::int64_t>(sqlite3_changes(c->raw()));
}

}  // namespace lattice::store::sqlite
