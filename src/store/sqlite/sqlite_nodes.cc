// SqliteStore: nodes and join tokens.
#include "store/sqlite/sqlite_store.h"

#include <boost/json.hpp>

namespace lattice::store::sqlite {
namespace {

constexpr const char* kNodeSelect =
    "SELECT id, name, cpus, memory_mb, disk_mb, labels_json, status, last_heartbeat, "
    "agent_version, address, secret_hash, created_at, link_replica, down_since FROM nodes";

Node ReadNode(const Stmt& s) {
  Node n;
  n.id = s.Text(0);
  n.name = s.Text(1);
  n.cpus = static_cast<int>(s.Int(2));
  n.memory_mb = s.Int(3);
  n.disk_mb = s.Int(4);
  n.labels_json = s.Text(5);
  n.status = ParseNodeStatus(s.Text(6)).value_or(NodeStatus::kDown);
  n.last_heartbeat = s.Int(7);
  n.agent_version = s.Text(8);
  n.address = s.Text(9);
  n.secret_hash = s.Text(10);
  n.created_at = s.Int(11);
  n.link_replica = s.Text(12);
  n.down_since = s.Int(13);
  return n;
}

}  // namespace

Status SqliteStore::CreateJoinToken(const JoinToken& t) {
  auto c = Acquire();
  auto q = c->Prepare(
      "INSERT INTO join_tokens(id, token_hash, created_by, created_at, expires_at) "
      "VALUES (?, ?, ?, ?, ?)");
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, t.id)
      .Bind(2, t.token_hash)
      .Bind(3, t.created_by)
      .Bind(4, t.created_at)
      .Bind(5, t.expires_at);
  if (int rc = (*q)->Step(); rc != SQLITE_DONE) return c->ToError(rc, "create join token");
  return Status::Ok();
}

Status SqliteStore::JoinNode(const std::string& token_hash, const Node& n, std::int64_t now) {
  auto c = Acquire();
  return InTransaction(*c, [&]() -> Status {
    auto use = c->Prepare(
        "UPDATE join_tokens SET used_at = ?, node_id = ? "
        "WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?");
    if (!use.ok()) return std::move(use).error();
    (*use)->Bind(1, now).Bind(2, n.id).Bind(3, token_hash).Bind(4, now);
    if (int rc = (*use)->Step(); rc != SQLITE_DONE) return c->ToError(rc, "use join token");
    if (sqlite3_changes(c->raw()) != 1)
      return Error::Unauthenticated("The join token is unknown, expired or already used.");
    auto ins = c->Prepare(
        "INSERT INTO nodes(id, name, cpus, memory_mb, disk_mb, labels_json, status, "
        "last_heartbeat, agent_version, address, secret_hash, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (!ins.ok()) return std::move(ins).error();
    (*ins)
        ->Bind(1, n.id)
        .Bind(2, n.name)
        .Bind(3, static_cast<std::int64_t>(n.cpus))
        .Bind(4, n.memory_mb)
        .Bind(5, n.disk_mb)
        .Bind(6, n.labels_json)
        .Bind(7, Name(n.status))
        .Bind(8, n.last_heartbeat)
        .Bind(9, n.agent_version)
        .Bind(10, n.address)
        .Bind(11, n.secret_hash)
        .Bind(12, n.created_at);
    if (int rc = (*ins)->Step(); rc != SQLITE_DONE) return c->ToError(rc, "create node");
    return Status::Ok();
  });
}

Result<Node> SqliteStore::GetNode(const std::string& id) {
  auto c = Acquire();
  static const std::string sql = std::string(kNodeSelect) + " WHERE id = ?";
  auto q = c->Prepare(sql.c_str());
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, id);
  const int rc = (*q)->Step();
  if (rc == SQLITE_ROW) return ReadNode(**q);
  if (rc == SQLITE_DONE) return Error::NotFound("node not found");
  return c->ToError(rc, "get node");
}

Result<std::vector<Node>> SqliteStore::ListNodes() {
  auto c = Acquire();
  static const std::string sql = std::string(kNodeSelect) + " ORDER BY name, id";
  auto q = c->Prepare(sql.c_str());
  if (!q.ok()) return std::move(q).error();
  std::vector<Node> out;
  int rc;
  while ((rc = (*q)->Step()) == SQLITE_ROW) out.push_back(ReadNode(**q));
  if (rc != SQLITE_DONE) return c->ToError(rc, "list nodes");
  return out;
}

Result<std::vector<Node>> SqliteStore::GetNodes(const std::vector<std::string>& ids) {
  std::vector<Node> out;
  if (ids.empty()) return out;
  boost::json::array arr;
  for (const auto& id : ids) arr.emplace_back(id);
  auto c = Acquire();
  // One parameter whatever the count: the ids travel as a JSON array.
  static const std::string sql =
      std::string(kNodeSelect) + " WHERE id IN (SELECT value FROM json_each(?))";
  auto q = c->Prepare(sql.c_str());
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, boost::json::serialize(arr));
  int rc;
  while ((rc = (*q)->Step()) == SQLITE_ROW) out.push_back(ReadNode(**q));
  if (rc != SQLITE_DONE) return c->ToError(rc, "get nodes");
  return out;
}

Status SqliteStore::UpdateNodeInfo(const Node& n) {
  auto c = Acquire();
  auto q = c->Prepare(
      "UPDATE nodes SET name = ?, cpus = ?, memory_mb = ?, disk_mb = ?, labels_json = ?, "
      "agent_version = ?, address = ? WHERE id = ?");
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, n.name)
      .Bind(2, static_cast<std::int64_t>(n.cpus))
      .Bind(3, n.memory_mb)
      .Bind(4, n.disk_mb)
      .Bind(5, n.labels_json)
      .Bind(6, n.agent_version)
      .Bind(7, n.address)
      .Bind(8, n.id);
  if (int rc = (*q)->Step(); rc != SQLITE_DONE) return c->ToError(rc, "update node");
  if (sqlite3_changes(c->raw()) == 0) return Error::NotFound("node not found");
  return Status::Ok();
}

Status SqliteStore::SetNodeStatus(const std::string& id, NodeStatus status,
                                  std::int64_t last_heartbeat) {
  auto c = Acquire();
  auto q = c->Prepare(
      "UPDATE nodes SET status = ?, last_heartbeat = MAX(last_heartbeat, ?) WHERE id = ?");
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, Name(status)).Bind(2, last_heartbeat).Bind(3, id);
  if (int rc = (*q)->Step(); rc != SQLITE_DONE) return c->ToError(rc, "set node status");
  if (sqlite3_changes(c->raw()) == 0) return Error::NotFound("node not found");
  return Status::Ok();
}

Status SqliteStore::ClaimNodeLink(const std::string& node_id, const std::string& replica_id,
                                  std::int64_t now) {
  auto c = Acquire();
  auto q = c->Prepare(
      "UPDATE nodes SET status = 'ready', link_replica = ?, down_since = 0, "
      "last_heartbeat = MAX(last_heartbeat, ?) WHERE id = ?");
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, replica_id).Bind(2, now).Bind(3, node_id);
  if (int rc = (*q)->Step(); rc != SQLITE_DONE) return c->ToError(rc, "claim node link");
  if (sqlite3_changes(c->raw()) == 0) return Error::NotFound("node not found");
  return Status::Ok();
}

Result<bool> SqliteStore::ReleaseNodeLink(const std::string& node_id, const std::string& replica_id,
                                          std::int64_t now) {
  auto c = Acquire();
  auto q = c->Prepare(
      "UPDATE nodes SET status = 'down', link_replica = '', down_since = ? "
      "WHERE id = ? AND link_replica = ?");
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, now).Bind(2, node_id).Bind(3, replica_id);
  if (int rc = (*q)->Step(); rc != SQLITE_DONE) return c->ToError(rc, "release node link");
  return sqlite3_changes(c->raw()) > 0;
}

Status SqliteStore::TouchReplica(const Replica& r) {
  auto c = Acquire();
  auto q = c->Prepare(
      "INSERT INTO replicas(id, url, seen_at) VALUES (?, ?, ?) "
      "ON CONFLICT(id) DO UPDATE SET url = excluded.url, seen_at = excluded.seen_at");
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, r.id).Bind(2, r.url).Bind(3, r.seen_at);
  if (int rc = (*q)->Step(); rc != SQLITE_DONE) return c->ToError(rc, "touch replica");
  return Status::Ok();
}

Result<std::vector<Replica>> SqliteStore::ListReplicas(std::int64_t seen_since) {
  auto c = Acquire();
  auto q = c->Prepare("SELECT id, url, seen_at FROM replicas WHERE seen_at >= ? ORDER BY id");
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, seen_since);
  std::vector<Replica> out;
  int rc;
  while ((rc = (*q)->Step()) == SQLITE_ROW)
    out.push_back({(*q)->Text(0), (*q)->Text(1), (*q)->Int(2)});
  if (rc != SQLITE_DONE) return c->ToError(rc, "list replicas");
  return out;
}

Result<std::vector<std::string>> SqliteStore::ReapReplicas(std::int64_t stale_before,
                                                           std::int64_t now) {
  auto c = Acquire();
  std::vector<std::string> released;
  Status s = InTransaction(*c, [&]() -> Status {
    auto q = c->Prepare(
        "UPDATE nodes SET status = 'down', link_replica = '', "
        "down_since = COALESCE((SELECT seen_at FROM replicas r WHERE r.id = nodes.link_replica), "
        "?) WHERE link_replica <> '' AND link_replica NOT IN "
        "(SELECT id FROM replicas WHERE seen_at >= ?) RETURNING id");
    if (!q.ok()) return std::move(q).error();
    (*q)->Bind(1, now).Bind(2, stale_before);
    int rc;
    while ((rc = (*q)->Step()) == SQLITE_ROW) released.push_back((*q)->Text(0));
    if (rc != SQLITE_DONE) return c->ToError(rc, "release nodes of gone replicas");
    auto d = c->Prepare("DELETE FROM replicas WHERE seen_at < ?");
    if (!d.ok()) return std::move(d).error();
    (*d)->Bind(1, stale_before);
    if (int drc = (*d)->Step(); drc != SQLITE_DONE) return c->ToError(drc, "delete replicas");
    return Status::Ok();
  });
  if (!s.ok()) return std::move(s).error();
  return released;
}

}  // namespace lattice::store::sqlite
