// PostgresStore: notification channels and deliveries (store/notification_store.h).
#include <algorithm>
#include <string>

#include "store/notification_sql.h"
#include "store/postgres/pg_store.h"

namespace lattice::store::postgres {
namespace {

using notification_sql::kChannelColumns;
using notification_sql::kDeliveryColumns;

NotificationChannel ChannelFrom(const PgResult& r, int i) {
  NotificationChannel c;
  c.id = r.Text(i, 0);
  c.owner_id = r.Text(i, 1);
  ParseChannelKind(r.Text(i, 2), c.kind);
  c.target = r.Text(i, 3);
  c.secret_enc = r.Text(i, 4);
  c.events = notification_sql::SplitEvents(r.Text(i, 5));
  c.created_at = r.Int(i, 6);
  return c;
}

Delivery DeliveryFrom(const PgResult& r, int i) {
  Delivery d;
  d.id = r.Text(i, 0);
  d.channel_id = r.Text(i, 1);
  d.owner_id = r.Text(i, 2);
  d.kind = r.Text(i, 3);
  d.workload_id = r.Text(i, 4);
  d.payload = r.Text(i, 5);
  d.attempts = static_cast<int>(r.Int(i, 6));
  ParseDeliveryStatus(r.Text(i, 7), d.status);
  d.last_code = static_cast<int>(r.Int(i, 8));
  d.last_result = r.Text(i, 9);
  d.next_attempt_at = r.Int(i, 10);
  d.created_at = r.Int(i, 11);
  d.updated_at = r.Int(i, 12);
  return d;
}

}  // namespace

Status PostgresStore::CreateChannel(const NotificationChannel& ch) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  auto r = (*c)->Exec(
      "INSERT INTO notification_channels(id, owner_id, kind, target, secret_enc, events, "
      "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
      Params()
          .Add(ch.id)
          .Add(ch.owner_id)
          .Add(ChannelKindName(ch.kind))
          .Add(ch.target)
          .Add(ch.secret_enc)
          .Add(notification_sql::JoinEvents(ch.events))
          .Add(ch.created_at));
  if (!r.ok()) return std::move(r).error();
  return Status::Ok();
}

Result<NotificationChannel> PostgresStore::GetChannel(const std::string& id) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  static const std::string sql =
      std::string("SELECT ") + kChannelColumns + " FROM notification_channels WHERE id = $1";
  auto r = (*c)->Exec(sql, Params().Add(id));
  if (!r.ok()) return std::move(r).error();
  if (r->rows() == 0) return Error::NotFound("notification channel not found");
  return ChannelFrom(*r, 0);
}

Result<std::vector<NotificationChannel>> PostgresStore::ListChannels(const std::string& owner_id) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  static const std::string sql = std::string("SELECT ") + kChannelColumns +
                                 " FROM notification_channels WHERE $1 = '' OR owner_id = $1 "
                                 "ORDER BY created_at, id";
  auto r = (*c)->Exec(sql, Params().Add(owner_id));
  if (!r.ok()) return std::move(r).error();
  return RowsOf<NotificationChannel>(*r, ChannelFrom);
}

Status PostgresStore::DeleteChannel(const std::string& id) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  Connection& conn = **c;
  return InTransaction(conn, [&]() -> Status {
    auto r = conn.Exec("DELETE FROM notification_channels WHERE id = $1", Params().Add(id));
    if (!r.ok()) return std::move(r).error();
    if (r->affected() == 0) return Error::NotFound("notification channel not found");
    auto d =
        conn.Exec("DELETE FROM notification_deliveries WHERE channel_id = $1", Params().Add(id));
    if (!d.ok()) return std::move(d).error();
    return Status::Ok();
  });
}

Status PostgresStore::AddDeliveries(const std::vector<Delivery>& deliveries) {
  if (deliveries.empty()) return Status::Ok();
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  Connection& conn = **c;
  return InTransaction(conn, [&]() -> Status {
    for (const Delivery& d : deliveries) {
      auto r = conn.Exec(
          "INSERT INTO notification_deliveries(id, channel_id, owner_id, kind, workload_id, "
          "payload, attempts, status, last_code, last_result, next_attempt_at, created_at, "
          "updated_at) SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13 "
          "WHERE EXISTS (SELECT 1 FROM notification_channels WHERE id = $2)",
          Params()
              .Add(d.id)
              .Add(d.channel_id)
              .Add(d.owner_id)
              .Add(d.kind)
              .Add(d.workload_id)
              .Add(d.payload)
              .Add(d.attempts)
              .Add(DeliveryStatusName(d.status))
              .Add(d.last_code)
              .Add(d.last_result)
              .Add(d.next_attempt_at)
              .Add(d.created_at)
              .Add(d.updated_at));
      if (!r.ok()) return std::move(r).error();
    }
    return Status::Ok();
  });
}

Result<std::vector<Delivery>> PostgresStore::ClaimDueDeliveries(std::int64_t now,
                                                                std::int64_t lease_until,
                                                                int limit) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  // SKIP LOCKED: two replicas claiming at once take different rows.
  static const std::string sql =
      std::string(
          "UPDATE notification_deliveries SET next_attempt_at = $2 WHERE id IN ("
          "SELECT id FROM notification_deliveries WHERE status = 'pending' AND "
          "next_attempt_at <= $1 ORDER BY next_attempt_at, created_at LIMIT $3 "
          "FOR UPDATE SKIP LOCKED) RETURNING ") +
      kDeliveryColumns;
  auto r = (*c)->Exec(sql, Params().Add(now).Add(lease_until).Add(limit));
  if (!r.ok()) return std::move(r).error();
  auto out = RowsOf<Delivery>(*r, DeliveryFrom);
  std::sort(out.begin(), out.end(), [](const Delivery& a, const Delivery& b) {
    return a.created_at != b.created_at ? a.created_at < b.created_at : a.id < b.id;
  });
  return out;
}

Status PostgresStore::RecordAttempt(const std::string& delivery_id, const DeliveryAttempt& a) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  auto r = (*c)->Exec(
      "UPDATE notification_deliveries SET attempts = $1, status = $2, last_code = $3, "
      "last_result = $4, next_attempt_at = $5, updated_at = $6 WHERE id = $7",
      Params()
          .Add(a.attempts)
          .Add(DeliveryStatusName(a.status))
          .Add(a.last_code)
          .Add(a.last_result)
          .Add(a.next_attempt_at)
          .Add(a.at)
          .Add(delivery_id));
  if (!r.ok()) return std::move(r).error();
  if (r->affected() == 0) return Error::NotFound("delivery not found");
  return Status::Ok();
}

Result<Delivery> PostgresStore::GetDelivery(const std::string& id) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  static const std::string sql =
      std::string("SELECT ") + kDeliveryColumns + " FROM notification_deliveries WHERE id = $1";
  auto r = (*c)->Exec(sql, Params().Add(id));
  if (!r.ok()) return std::move(r).error();
  if (r->rows() == 0) return Error::NotFound("delivery not found");
  return DeliveryFrom(*r, 0);
}

Result<std::vector<Delivery>> PostgresStore::ListDeliveries(const std::string& channel_id,
                                                            int limit) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  static const std::string sql = std::string("SELECT ") + kDeliveryColumns +
                                 " FROM notification_deliveries WHERE channel_id = $1 "
                                 "ORDER BY created_at DESC, id DESC LIMIT $2";
  auto r = (*c)->Exec(sql, Params().Add(channel_id).Add(limit));
  if (!r.ok()) return std::move(r).error();
  return RowsOf<Delivery>(*r, DeliveryFrom);
}

Result<std::int64_t> PostgresStore::PruneDeliveries(std::int64_t before, int keep_per_channel) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  auto r = (*c)->Exec(
      "DELETE FROM notification_deliveries d WHERE d.status <> 'pending' AND (d.updated_at < $1 "
      "OR d.id NOT IN (SELECT k.id FROM notification_deliveries k WHERE k.channel_id = "
      "d.channel_id ORDER BY k.created_at DESC, k.id DESC LIMIT $2))",
      Params().Add(before).Add(keep_per_channel));
  if (!r.ok()) return std::move(r).error();
  return r->affected();
}

}  // namespace lattice::store::postgres
