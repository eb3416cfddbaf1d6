// SqliteStore: notification channels and deliveries (store/notification_store.h). Statements
// built from the shared column lists are function-local statics: the connection caches prepared
// statements by the address of their text.
#include <string>

#include "store/notification_sql.h"
#include "store/sqlite/sqlite_store.h"

namespace lattice::store::sqlite {
namespace {

using notification_sql::kChannelColumns;
using notification_sql::kDeliveryColumns;

NotificationChannel ChannelFrom(const Stmt& r) {
  NotificationChannel c;
  c.id = r.Text(0);
  c.owner_id = r.Text(1);
  ParseChannelKind(r.Text(2), c.kind);
  c.target = r.Text(3);
  c.secret_enc = r.Text(4);
  c.events = notification_sql::SplitEvents(r.Text(5));
  c.created_at = r.Int(6);
  return c;
}

Delivery DeliveryFrom(const Stmt& r) {
  Delivery d;
  d.id = r.Text(0);
  d.channel_id = r.Text(1);
  d.owner_id = r.Text(2);
  d.kind = r.Text(3);
  d.workload_id = r.Text(4);
  d.payload = r.Text(5);
  d.attempts = static_cast<int>(r.Int(6));
  ParseDeliveryStatus(r.Text(7), d.status);
  d.last_code = static_cast<int>(r.Int(8));
  d.last_result = r.Text(9);
  d.next_attempt_at = r.Int(10);
  d.created_at = r.Int(11);
  d.updated_at = r.Int(12);
  return d;
}

// Runs a prepared statement to its end, collecting its rows.
template <typename T, typename F>
Result<std::vector<T>> Rows(Connection& c, Stmt& q, F&& from, std::string_view what) {
  std::vector<T> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) out.push_back(from(q));
  if (rc != SQLITE_DONE) return c.ToError(rc, what);
  return out;
}

}  // namespace

Status SqliteStore::CreateChannel(const NotificationChannel& ch) {
  auto c = Acquire();
  auto q = c->Prepare(
      "INSERT INTO notification_channels(id, owner_id, kind, target, secret_enc, events, "
      "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)");
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, ch.id)
      .Bind(2, ch.owner_id)
      .Bind(3, std::string_view(ChannelKindName(ch.kind)))
      .Bind(4, ch.target)
      .Bind(5, ch.secret_enc)
      .Bind(6, notification_sql::JoinEvents(ch.events))
      .Bind(7, ch.created_at);
  if (int rc = (*q)->Step(); rc != SQLITE_DONE) return c->ToError(rc, "create a channel");
  return Status::Ok();
}

Result<NotificationChannel> SqliteStore::GetChannel(const std::string& id) {
  auto c = Acquire();
  static const std::string sql =
      std::string("SELECT ") + kChannelColumns + " FROM notification_channels WHERE id = ?";
  auto q = c->Prepare(sql.c_str());
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, id);
  auto rows = Rows<NotificationChannel>(*c, **q, ChannelFrom, "read a channel");
  if (!rows.ok()) return std::move(rows).error();
  if (rows->empty()) return Error::NotFound("notification channel not found");
  return std::move(rows->front());
}

Result<std::vector<NotificationChannel>> SqliteStore::ListChannels(const std::string& owner_id) {
  auto c = Acquire();
  static const std::string sql = std::string("SELECT ") + kChannelColumns +
                                 " FROM notification_channels WHERE ? = '' OR owner_id = ? "
                                 "ORDER BY created_at, id";
  auto q = c->Prepare(sql.c_str());
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, owner_id).Bind(2, owner_id);
  return Rows<NotificationChannel>(*c, **q, ChannelFrom, "list channels");
}

Status SqliteStore::DeleteChannel(const std::string& id) {
  auto c = Acquire();
  return InTransaction(*c, [&]() -> Status {
    auto q = c->Prepare("DELETE FROM notification_channels WHERE id = ?");
    if (!q.ok()) return std::move(q).error();
    (*q)->Bind(1, id);
    if (int rc = (*q)->Step(); rc != SQLITE_DONE) return c->ToError(rc, "delete a channel");
    if (sqlite3_changes(c->raw()) == 0) return Error::NotFound("notification channel not found");
    auto d = c->Prepare("DELETE FROM notification_deliveries WHERE channel_id = ?");
    if (!d.ok()) return std::move(d).error();
    (*d)->Bind(1, id);
    if (int rc = (*d)->Step(); rc != SQLITE_DONE) return c->ToError(rc, "delete deliveries");
    return Status::Ok();
  });
}

Status SqliteStore::AddDeliveries(const std::vector<Delivery>& deliveries) {
  if (deliveries.empty()) return Status::Ok();
  auto c = Acquire();
  return InTransaction(*c, [&]() -> Status {
    for (const Delivery& d : deliveries) {
      auto q = c->Prepare(
          "INSERT INTO notification_deliveries(id, channel_id, owner_id, kind, workload_id, "
          "payload, attempts, status, last_code, last_result, next_attempt_at, created_at, "
          "updated_at) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? "
          "WHERE EXISTS (SELECT 1 FROM notification_channels WHERE id = ?)");
      if (!q.ok()) return std::move(q).error();
      (*q)->Bind(1, d.id)
          .Bind(2, d.channel_id)
          .Bind(3, d.owner_id)
          .Bind(4, d.kind)
          .Bind(5, d.workload_id)
          .Bind(6, d.payload)
          .Bind(7, std::int64_t{d.attempts})
          .Bind(8, std::string_view(DeliveryStatusName(d.status)))
          .Bind(9, std::int64_t{d.last_code})
          .Bind(10, d.last_result)
          .Bind(11, d.next_attempt_at)
          .Bind(12, d.created_at)
          .Bind(13, d.updated_at)
          .Bind(14, d.channel_id);
      if (int rc = (*q)->Step(); rc != SQLITE_DONE) return c->ToError(rc, "add a delivery");
    }
    return Status::Ok();
  });
}

Result<std::vector<Delivery>> SqliteStore::ClaimDueDeliveries(std::int64_t now,
                                                              std::int64_t lease_until, int limit) {
  auto c = Acquire();
  std::vector<Delivery> out;
  Status st = InTransaction(*c, [&]() -> Status {
    static const std::string sql =
        std::string("SELECT ") + kDeliveryColumns +
        " FROM notification_deliveries WHERE status = 'pending' AND "
        "next_attempt_at <= ? ORDER BY next_attempt_at, created_at LIMIT ?";
    auto q = c->Prepare(sql.c_str());
    if (!q.ok()) return std::move(q).error();
    (*q)->Bind(1, now).Bind(2, std::int64_t{limit});
    auto rows = Rows<Delivery>(*c, **q, DeliveryFrom, "claim deliveries");
    if (!rows.ok()) return std::move(rows).error();
    for (Delivery& d : *rows) {
      auto u = c->Prepare("UPDATE notification_deliveries SET next_attempt_at = ? WHERE id = ?");
      if (!u.ok()) return std::move(u).error();
      (*u)->Bind(1, lease_until).Bind(2, d.id);
      if (int rc = (*u)->Step(); rc != SQLITE_DONE) return c->ToError(rc, "lease a delivery");
      d.next_attempt_at = lease_until;
    }
    out = std::move(rows).value();
    return Status::Ok();
  });
  if (!st.ok()) return std::move(st).error();
  return out;
}

Status SqliteStore::RecordAttempt(const std::string& delivery_id, const DeliveryAttempt& a) {
  auto c = Acquire();
  auto q = c->Prepare(
      "UPDATE notification_deliveries SET attempts = ?, status = ?, last_code = ?, "
      "last_result = ?, next_attempt_at = ?, updated_at = ? WHERE id = ?");
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, std::int64_t{a.attempts})
      .Bind(2, std::string_view(DeliveryStatusName(a.status)))
      .Bind(3, std::int64_t{a.last_code})
      .Bind(4, a.last_result)
      .Bind(5, a.next_attempt_at)
      .Bind(6, a.at)
      .Bind(7, delivery_id);
  if (int rc = (*q)->Step(); rc != SQLITE_DONE) return c->ToError(rc, "record an attempt");
  if (sqlite3_changes(c->raw()) == 0) return Error::NotFound("delivery not found");
  return Status::Ok();
}

Result<Delivery> SqliteStore::GetDelivery(const std::string& id) {
  auto c = Acquire();
  static const std::string sql =
      std::string("SELECT ") + kDeliveryColumns + " FROM notification_deliveries WHERE id = ?";
  auto q = c->Prepare(sql.c_str());
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, id);
  auto rows = Rows<Delivery>(*c, **q, DeliveryFrom, "read a delivery");
  if (!rows.ok()) return std::move(rows).error();
  if (rows->empty()) return Error::NotFound("delivery not found");
  return std::move(rows->front());
}

Result<std::vector<Delivery>> SqliteStore::ListDeliveries(const std::string& channel_id,
                                                          int limit) {
  auto c = Acquire();
  static const std::string sql = std::string("SELECT ") + kDeliveryColumns +
                                 " FROM notification_deliveries WHERE channel_id = ? "
                                 "ORDER BY created_at DESC, id DESC LIMIT ?";
  auto q = c->Prepare(sql.c_str());
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, channel_id).Bind(2, std::int64_t{limit});
  return Rows<Delivery>(*c, **q, DeliveryFrom, "list deliveries");
}

Result<std::int64_t> SqliteStore::PruneDeliveries(std::int64_t before, int keep_per_channel) {
  auto c = Acquire();
  auto q = c->Prepare(
      "DELETE FROM notification_deliveries WHERE status <> 'pending' AND (updated_at < ? OR "
      "id NOT IN (SELECT k.id FROM notification_deliveries k WHERE k.channel_id = "
      "notification_deliveries.channel_id ORDER BY k.created_at DESC, k.id DESC LIMIT ?))");
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, before).Bind(2, std::int64_t{keep_per_channel});
  if (int rc = (*q)->Step(); rc != SQLITE_DONE) return c->ToError(rc, "prune deliveries");
  return static_cast<std::int64_t>(sqlite3_changes(c->raw()));
}

}  // namespace lattice::store::sqlite
