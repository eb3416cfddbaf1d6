// PostgresStore: endpoint probe states and history (store/probe_store.h).
#include "store/postgres/pg_store.h"

namespace lattice::store::postgres {
namespace {

// Both statements insert nothing for a workload that no longer exists ($1 names it).
constexpr const char* kUpsertEndpoint =
    "INSERT INTO probe_endpoints(workload_id, container_port, public_port, state, reason, "
    "message, latency_us, at, changed_at) "
    "SELECT $1, $2::integer, $3::integer, $4, $5, $6, $7::bigint, $8::bigint, $9::bigint "
    "WHERE EXISTS (SELECT 1 FROM workloads WHERE id = $1) "
    "ON CONFLICT (workload_id, container_port) DO UPDATE SET public_port = EXCLUDED.public_port, "
    "state = EXCLUDED.state, reason = EXCLUDED.reason, message = EXCLUDED.message, "
    "latency_us = EXCLUDED.latency_us, at = EXCLUDED.at, changed_at = EXCLUDED.changed_at";
constexpr const char* kInsertResult =
    "INSERT INTO probe_results(workload_id, container_port, at, public_port, state, reason, "
    "message, latency_us) "
    "SELECT $1, $2::integer, $8::bigint, $3::integer, $4, $5, $6, $7::bigint "
    "WHERE EXISTS (SELECT 1 FROM workloads WHERE id = $1) "
    "ON CONFLICT (workload_id, container_port, at) DO UPDATE SET "
    "public_port = EXCLUDED.public_port, state = EXCLUDED.state, reason = EXCLUDED.reason, "
    "message = EXCLUDED.message, latency_us = EXCLUDED.latency_us";

Params RecordParams(const ProbeRecord& r) {
  Params p;
  p.Add(r.workload_id)
      .Add(static_cast<std::int64_t>(r.container_port))
      .Add(static_cast<std::int64_t>(r.public_port))
      .Add(std::string(Name(r.state)))
      .Add(r.reason)
      .Add(r.message)
      .Add(r.latency_us)
      .Add(r.at);
  return p;
}

ProbeRecord RecordOf(const PgResult& r, int i) {
  ProbeRecord p;
  p.workload_id = r.Text(i, 0);
  p.container_port = static_cast<int>(r.Int(i, 1));
  p.public_port = static_cast<int>(r.Int(i, 2));
  p.state = ParseEndpointState(r.Text(i, 3)).value_or(EndpointState::kUnknown);
  p.reason = r.Text(i, 4);
  p.message = r.Text(i, 5);
  p.latency_us = r.Int(i, 6);
  p.at = r.Int(i, 7);
  return p;
}

}  // namespace

Status PostgresStore::RecordProbes(const std::vector<ProbeRecord>& records) {
  if (records.empty()) return Status::Ok();
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  Connection& conn = **c;
  return InTransaction(conn, [&]() -> Status {
    for (const ProbeRecord& r : records) {
      Params up = RecordParams(r);
      up.Add(r.changed_at);
      if (auto e = conn.Exec(kUpsertEndpoint, up); !e.ok()) return std::move(e).error();
      if (!r.keep) continue;
      if (auto e = conn.Exec(kInsertResult, RecordParams(r)); !e.ok()) return std::move(e).error();
    }
    return Status::Ok();
  });
}

Result<std::vector<ProbeRecord>> PostgresStore::ProbeEndpoints(const std::string& workload_id) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  auto r = (*c)->Exec(
      "SELECT workload_id, container_port, public_port, state, reason, message, latency_us, at, "
      "changed_at FROM probe_endpoints WHERE $1 = '' OR workload_id = $1 "
      "ORDER BY workload_id, container_port",
      Params().Add(workload_id));
  if (!r.ok()) return std::move(r).error();
  return RowsOf<ProbeRecord>(*r, [](const PgResult& x, int i) {
    ProbeRecord p = RecordOf(x, i);
    p.changed_at = x.Int(i, 8);
    return p;
  });
}

Result<std::vector<ProbeRecord>> PostgresStore::ProbeHistory(const std::string& workload_id,
                                                             std::int64_t since, int limit) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  auto r = (*c)->Exec(
      "SELECT workload_id, container_port, public_port, state, reason, message, latency_us, at "
      "FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY container_port ORDER BY at DESC) AS n "
      "FROM probe_results WHERE workload_id = $1 AND at >= $2::bigint) AS h "
      "WHERE n <= $3::bigint ORDER BY container_port, at",
      Params().Add(workload_id).Add(since).Add(static_cast<std::int64_t>(limit)));
  if (!r.ok()) return std::move(r).error();
  return RowsOf<ProbeRecord>(*r, RecordOf);
}

Result<std::int64_t> PostgresStore::PruneProbes(std::int64_t before) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  auto r = (*c)->Exec("DELETE FROM probe_results WHERE at < $1", Params().Add(before));
  if (!r.ok()) return std::move(r).error();
  return r->affected();
}

}  // namespace lattice::store::postgres
