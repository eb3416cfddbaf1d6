// PostgresStore: the edge's public ports.
#include "store/engine_neutral.h"
#include "store/postgres/pg_store.h"

namespace lattice::store::postgres {

Status InsertPublicPort(Connection& conn, const PublicPort& p) {
  auto r =
      conn.Exec("INSERT INTO public_ports(port, workload_id, container_port) VALUES ($1, $2, $3)",
                Params().Add(p.port).Add(p.workload_id).Add(p.container_port));
  if (!r.ok()) {
    Error e = std::move(r).error();
    if (e.code == ErrorCode::kConflict) e.type = Store::kPortTaken;
    return e;
  }
  return Status::Ok();
}

Result<std::vector<PublicPort>> PostgresStore::AllocatePublicPorts(
    const std::string& workload_id, const std::vector<int>& container_ports, int low, int high,
    const std::function<bool(int)>& usable) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  Connection& conn = **c;
  std::vector<PublicPort> out;
  Status s = InTransaction(conn, [&]() -> Status {
    out.clear();  // a rerun (deadlock) starts over
    // Reads every held port, then picks free ones: the lock (which conflicts with itself, not
    // with readers) keeps two servers from picking the same port at once.
    if (Status l = conn.ExecScript("LOCK TABLE public_ports IN SHARE ROW EXCLUSIVE MODE"); !l.ok())
      return l;
    auto all = conn.Exec("SELECT port, workload_id, container_port FROM public_ports");
    if (!all.ok()) return std::move(all).error();
    std::vector<PublicPort> held;
    for (int i = 0; i < all->rows(); ++i)
      held.push_back(
          {static_cast<int>(all->Int(i, 0)), all->Text(i, 1), static_cast<int>(all->Int(i, 2))});
    auto plan = PlanPublicPorts(held, workload_id, container_ports, low, high, usable);
    if (!plan.ok()) return std::move(plan).error();
    for (const PublicPort& p : plan->to_insert)
      if (Status ins = InsertPublicPort(conn, p); !ins.ok()) return ins;
    out = std::move(plan->all);
    return Status::Ok();
  });
  if (!s.ok()) return std::move(s).error();
  return out;
}

Result<std::vector<PublicPort>> PostgresStore::ListPublicPorts() {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  auto r = (*c)->Exec("SELECT port, workload_id, container_port FROM public_ports ORDER BY port");
  if (!r.ok()) return std::move(r).error();
  std::vector<PublicPort> out;
  out.reserve(static_cast<std::size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i)
    out.push_back({static_cast<int>(r->Int(i, 0)), r->Text(i, 1), static_cast<int>(r->Int(i, 2))});
  return out;
}

Result<std::vector<PublicPort>> PostgresStore::ListPublicPortsOf(const std::string& workload_id) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  auto r = (*c)->Exec(
      "SELECT port, workload_id, container_port FROM public_ports WHERE workload_id = $1 "
      "ORDER BY port",
      Params().Add(workload_id));
  if (!r.ok()) return std::move(r).error();
  std::vector<PublicPort> out;
  out.reserve(static_cast<std::size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i)
    out.push_back({static_cast<int>(r->Int(i, 0)), r->Text(i, 1), static_cast<int>(r->Int(i, 2))});
  return out;
}

}  // namespace lattice::store::postgres
