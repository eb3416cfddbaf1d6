// PostgresStore: nodes and join tokens.
#include "store/postgres/pg_store.h"

#include <boost/json.hpp>

namespace lattice::store::postgres {
namespace {

constexpr const char* kNodeSelect =
    "SELECT id, name, cpus, memory_mb, disk_mb, labels_json, status, last_heartbeat, "
    "agent_version, address, secret_hash, created_at, link_replica, down_since FROM nodes";

Node ReadNode(const PgResult& r, int row) {
  Node n;
  n.id = r.Text(row, 0);
  n.name = r.Text(row, 1);
  n.cpus = static_cast<int>(r.Int(row, 2));
  n.memory_mb = r.Int(row, 3);
  n.disk_mb = r.Int(row, 4);
  n.labels_json = r.Text(row, 5);
  n.status = ParseNodeStatus(r.Text(row, 6)).value_or(NodeStatus::kDown);
  n.last_heartbeat = r.Int(row, 7);
  n.agent_version = r.Text(row, 8);
  n.address = r.Text(row, 9);
  n.secret_hash = r.Text(row, 10);
  n.created_at = r.Int(row, 11);
  n.link_replica = r.Text(row, 12);
  n.down_since = r.Int(row, 13);
  return n;
}

}  // namespace

Status PostgresStore::CreateJoinToken(const JoinToken& t) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  auto r = (*c)->Exec(
      "INSERT INTO join_tokens(id, token_hash, created_by, created_at, expires_at) "
      "VALUES ($1, $2, $3, $4, $5)",
      Params().Add(t.id).Add(t.token_hash).Add(t.created_by).Add(t.created_at).Add(t.expires_at));
  if (!r.ok()) return std::move(r).error();
  return Status::Ok();
}

Status PostgresStore::JoinNode(const std::string& token_hash, const Node& n, std::int64_t now) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  Connection& conn = **c;
  return InTransaction(conn, [&]() -> Status {
    // The row lock taken by UPDATE makes a concurrent use of the same token wait, then find
    // it used (READ COMMITTED re-checks the WHERE clause): a token admits one node only.
    auto use = conn.Exec(
        "UPDATE join_tokens SET used_at = $1, node_id = $2 "
        "WHERE token_hash = $3 AND used_at IS NULL AND expires_at > $1",
        Params().Add(now).Add(n.id).Add(token_hash));
    if (!use.ok()) return std::move(use).error();
    if (use->affected() != 1)
      return Error::Unauthenticated("The join token is unknown, expired or already used.");
    auto ins = conn.Exec(
        "INSERT INTO nodes(id, name, cpus, memory_mb, disk_mb, labels_json, status, "
        "last_heartbeat, agent_version, address, secret_hash, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        Params()
            .Add(n.id)
            .Add(n.name)
            .Add(n.cpus)
            .Add(n.memory_mb)
            .Add(n.disk_mb)
            .Add(n.labels_json)
            .Add(Name(n.status))
            .Add(n.last_heartbeat)
            .Add(n.agent_version)
            .Add(n.address)
            .Add(n.secret_hash)
            .Add(n.created_at));
    if (!ins.ok()) return std::move(ins).error();
    return Status::Ok();
  });
}

Result<Node> PostgresStore::GetNode(const std::string& id) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  static const std::string sql = std::string(kNodeSelect) + " WHERE id = $1";
  auto r = (*c)->Exec(sql, Params().Add(id));
  if (!r.ok()) return std::move(r).error();
  if (r->rows() == 0) return Error::NotFound("node not found");
  return ReadNode(*r, 0);
}

Result<std::vector<Node>> PostgresStore::ListNodes() {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  static const std::string sql = std::string(kNodeSelect) + " ORDER BY name, id";
  auto r = (*c)->Exec(sql);
  if (!r.ok()) return std::move(r).error();
  std::vector<Node> out;
  out.reserve(static_cast<std::size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i) out.push_back(ReadNode(*r, i));
  return out;
}

Result<std::vector<Node>> PostgresStore::GetNodes(const std::vector<std::string>& ids) {
  std::vector<Node> out;
  if (ids.empty()) return out;
  boost::json::array arr;
  for (const auto& id : ids) arr.emplace_back(id);
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  // One parameter whatever the count: the ids travel as a JSON array.
  static const std::string sql =
      std::string(kNodeSelect) + " WHERE id IN (SELECT jsonb_array_elements_text($1::jsonb))";
  auto r = (*c)->Exec(sql, Params().Add(boost::json::serialize(arr)));
  if (!r.ok()) return std::move(r).error();
  out.reserve(static_cast<std::size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i) out.push_back(ReadNode(*r, i));
  return out;
}

Status PostgresStore::UpdateNodeInfo(const Node& n) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  auto r = (*c)->Exec(
      "UPDATE nodes SET name = $1, cpus = $2, memory_mb = $3, disk_mb = $4, labels_json = $5, "
      "agent_version = $6, address = $7 WHERE id = $8",
      Params()
          .Add(n.name)
          .Add(n.cpus)
          .Add(n.memory_mb)
          .Add(n.disk_mb)
          .Add(n.labels_json)
          .Add(n.agent_version)
          .Add(n.address)
          .Add(n.id));
  if (!r.ok()) return std::move(r).error();
  if (r->affected() == 0) return Error::NotFound("node not found");
  return Status::Ok();
}

Status PostgresStore::SetNodeStatus(const std::string& id, NodeStatus status,
                                    std::int64_t last_heartbeat) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  auto r = (*c)->Exec(
      "UPDATE nodes SET status = $1, last_heartbeat = GREATEST(last_heartbeat, $2) WHERE id = $3",
      Params().Add(Name(status)).Add(last_heartbeat).Add(id));
  if (!r.ok()) return std::move(r).error();
  if (r->affected() == 0) return Error::NotFound("node not found");
  return Status::Ok();
}

Status PostgresStore::ClaimNodeLink(const std::string& node_id, const std::string& replica_id,
                                    std::int64_t now) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  auto r = (*c)->Exec(
      "UPDATE nodes SET status = 'ready', link_replica = $1, down_since = 0, "
      "last_heartbeat = GREATEST(last_heartbeat, $2) WHERE id = $3",
      Params().Add(replica_id).Add(now).Add(node_id));
  if (!r.ok()) return std::move(r).error();
  if (r->affected() == 0) return Error::NotFound("node not found");
  return Status::Ok();
}

Result<bool> PostgresStore::ReleaseNodeLink(const std::string& node_id,
                                            const std::string& replica_id, std::int64_t now) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  auto r = (*c)->Exec(
      "UPDATE nodes SET status = 'down', link_replica = '', down_since = $1 "
      "WHERE id = $2 AND link_replica = $3",
      Params().Add(now).Add(node_id).Add(replica_id));
  if (!r.ok()) return std::move(r).error();
  return r->affected() > 0;
}

Status PostgresStore::TouchReplica(const Replica& rep) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  auto r = (*c)->Exec(
      "INSERT INTO replicas(id, url, seen_at) VALUES ($1, $2, $3) "
      "ON CONFLICT (id) DO UPDATE SET url = excluded.url, seen_at = excluded.seen_at",
      Params().Add(rep.id).Add(rep.url).Add(rep.seen_at));
  if (!r.ok()) return std::move(r).error();
  return Status::Ok();
}

Result<std::vector<Replica>> PostgresStore::ListReplicas(std::int64_t seen_since) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  auto r = (*c)->Exec("SELECT id, url, seen_at FROM replicas WHERE seen_at >= $1 ORDER BY id",
                      Params().Add(seen_since));
  if (!r.ok()) return std::move(r).error();
  std::vector<Replica> out;
  for (int i = 0; i < r->rows(); ++i) out.push_back({r->Text(i, 0), r->Text(i, 1), r->Int(i, 2)});
  return out;
}

Result<std::vector<std::string>> PostgresStore::ReapReplicas(std::int64_t stale_before,
                                                             std::int64_t now) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  Connection& conn = **c;
  std::vector<std::string> released;
  Status s = InTransaction(conn, [&]() -> Status {
    released.clear();  // a retried transaction starts over
    auto r = conn.Exec(
        "UPDATE nodes SET status = 'down', link_replica = '', "
        "down_since = COALESCE((SELECT seen_at FROM replicas r WHERE r.id = nodes.link_replica), "
        "$1) WHERE link_replica <> '' AND link_replica NOT IN "
        "(SELECT id FROM replicas WHERE seen_at >= $2) RETURNING id",
        Params().Add(now).Add(stale_before));
    if (!r.ok()) return std::move(r).error();
    for (int i = 0; i < r->rows(); ++i) released.push_back(r->Text(i, 0));
    auto d = conn.Exec("DELETE FROM replicas WHERE seen_at < $1", Params().Add(stale_before));
    if (!d.ok()) return std::move(d).error();
    return Status::Ok();
  });
  if (!s.ok()) return std::move(s).error();
  return released;
}

}  // namespace lattice::store::postgres
