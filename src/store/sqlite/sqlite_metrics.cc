// SqliteStore: metric samples and their rollups (store/metrics_store.h).
#include "store/metrics_sql.h"
#include "store/sqlite/sqlite_store.h"

namespace lattice::store::sqlite {
namespace {

using metrics_sql::BucketStart;

// Binds a sample's values as a single-sample row (parameters 4…17 of kInsert/kRollup).
void BindValues(Stmt& q, const MetricSample& s) {
  q.Bind(4, std::int64_t{1})
      .Bind(5, s.cpu_percent)
      .Bind(6, s.cpu_percent)
      .Bind(7, s.memory_bytes)
      .Bind(8, s.memory_bytes)
      .Bind(9, s.memory_limit_bytes)
      .Bind(10, s.net_rx_bps)
      .Bind(11, s.net_rx_bps)
      .Bind(12, s.net_tx_bps)
      .Bind(13, s.net_tx_bps)
      .Bind(14, s.disk_read_bps)
      .Bind(15, s.disk_read_bps)
      .Bind(16, s.disk_write_bps)
      .Bind(17, s.disk_write_bps);
}

constexpr const char* kInsertRaw =
    "INSERT INTO metric_points(series, resolution, at, samples, cpu_sum, cpu_max, memory_sum, "
    "memory_max, memory_limit, net_rx_sum, net_rx_max, net_tx_sum, net_tx_max, disk_read_sum, "
    "disk_read_max, disk_write_sum, disk_write_max) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING";
constexpr const char* kUpsertRollup =
    "INSERT INTO metric_points(series, resolution, at, samples, cpu_sum, cpu_max, memory_sum, "
    "memory_max, memory_limit, net_rx_sum, net_rx_max, net_tx_sum, net_tx_max, disk_read_sum, "
    "disk_read_max, disk_write_sum, disk_write_max) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT(series, resolution, at) DO UPDATE SET "
    "samples = samples + excluded.samples, "
    "cpu_sum = cpu_sum + excluded.cpu_sum, cpu_max = max(cpu_max, excluded.cpu_max), "
    "memory_sum = memory_sum + excluded.memory_sum, "
    "memory_max = max(memory_max, excluded.memory_max), "
    "memory_limit = max(memory_limit, excluded.memory_limit), "
    "net_rx_sum = net_rx_sum + excluded.net_rx_sum, "
    "net_rx_max = max(net_rx_max, excluded.net_rx_max), "
    "net_tx_sum = net_tx_sum + excluded.net_tx_sum, "
    "net_tx_max = max(net_tx_max, excluded.net_tx_max), "
    "disk_read_sum = disk_read_sum + excluded.disk_read_sum, "
    "disk_read_max = max(disk_read_max, excluded.disk_read_max), "
    "disk_write_sum = disk_write_sum + excluded.disk_write_sum, "
    "disk_write_max = max(disk_write_max, excluded.disk_write_max)";

}  // namespace

Result<std::int64_t> SqliteStore::RecordMetrics(const std::string& node_id,
                                                const std::vector<MetricSample>& samples) {
  if (samples.empty()) return std::int64_t{0};
  auto c = Acquire();
  std::int64_t stored = 0;
  Status st = InTransaction(*c, [&]() -> Status {
    auto placed_q = c->Prepare("SELECT id FROM workloads WHERE node_id = ?");
    if (!placed_q.ok()) return std::move(placed_q).error();
    (*placed_q)->Bind(1, node_id);
    std::set<std::string> placed;
    int rc;
    while ((rc = (*placed_q)->Step()) == SQLITE_ROW) placed.insert((*placed_q)->Text(0));
    if (rc != SQLITE_DONE) return c->ToError(rc, "list the node's workloads");
    for (const MetricSample* s : metrics_sql::Admissible(node_id, placed, samples)) {
      {
        auto raw = c->Prepare(kInsertRaw);
        if (!raw.ok()) return std::move(raw).error();
        (*raw)->Bind(1, s->series).Bind(2, std::int64_t{0}).Bind(3, s->at);
        BindValues(**raw, *s);
        if (int r = (*raw)->Step(); r != SQLITE_DONE) return c->ToError(r, "record a sample");
        if (sqlite3_changes(c->raw()) == 0) continue;  // this second is stored already
      }
      ++stored;
      for (MetricResolution r : metrics_sql::kRollups) {
        auto up = c->Prepare(kUpsertRollup);
        if (!up.ok()) return std::move(up).error();
        (*up)
            ->Bind(1, s->series)
            .Bind(2, static_cast<std::int64_t>(r))
            .Bind(3, BucketStart(s->at, r));
        BindValues(**up, *s);
        if (int rc2 = (*up)->Step(); rc2 != SQLITE_DONE) return c->ToError(rc2, "roll up a sample");
      }
    }
    return Status::Ok();
  });
  if (!st.ok()) return std::move(st).error();
  return stored;
}

Result<std::vector<MetricPoint>> SqliteStore::QueryMetrics(const MetricQuery& q) {
  if (q.step <= 0) return Error::Invalid("step must be positive");
  auto c = Acquire();
  static const std::string sql = std::string("SELECT (at / ?1) * ?1 AS bucket, ") +
                                 metrics_sql::kAggregates +
                                 " FROM metric_points WHERE series = ?2 AND resolution = ?3 AND "
                                 "at >= ?4 AND at < ?5 GROUP BY bucket ORDER BY bucket";
  auto s = c->Prepare(sql.c_str());
  if (!s.ok()) return std::move(s).error();
  (*s)->Bind(1, q.step)
      .Bind(2, q.series)
      .Bind(3, static_cast<std::int64_t>(q.resolution))
      .Bind(4, q.from)
      .Bind(5, q.to);
  std::vector<MetricPoint> out;
  int rc;
  while ((rc = (*s)->Step()) == SQLITE_ROW) {
    Stmt& row = **s;
    out.push_back(
        metrics_sql::MetricPointFromSums(row.Int(0), [&row](int i) { return row.Double(i + 1); }));
  }
  if (rc != SQLITE_DONE) return c->ToError(rc, "query metrics");
  return out;
}

Result<std::vector<LatestMetric>> SqliteStore::LatestMetrics(std::int64_t since) {
  auto c = Acquire();
  // The newest row of each series among the recent ones (the age index finds them).
  auto s = c->Prepare(
      "SELECT m.series, m.at, m.cpu_sum, m.memory_sum, m.memory_limit, m.net_rx_sum, "
      "m.net_tx_sum, m.disk_read_sum, m.disk_write_sum, COALESCE(w.name, n.name, ''), "
      "n.id IS NOT NULL "
      "FROM (SELECT series, max(at) AS newest FROM metric_points WHERE resolution = 0 AND "
      "at >= ? GROUP BY series) AS last "
      "JOIN metric_points m ON m.series = last.series AND m.resolution = 0 AND m.at = last.newest "
      "LEFT JOIN workloads w ON w.id = m.series LEFT JOIN nodes n ON n.id = m.series "
      "ORDER BY m.series");
  if (!s.ok()) return std::move(s).error();
  (*s)->Bind(1, since);
  std::vector<LatestMetric> out;
  int rc;
  while ((rc = (*s)->Step()) == SQLITE_ROW) {
    Stmt& r = **s;
    LatestMetric m;
    m.sample = MetricSample{r.Text(0),   r.Int(1),    r.Double(2), r.Double(3), r.Double(4),
                            r.Double(5), r.Double(6), r.Double(7), r.Double(8)};
    m.name = r.Text(9);
    m.is_node = r.Int(10) != 0;
    out.push_back(std::move(m));
  }
  if (rc != SQLITE_DONE) return c->ToError(rc, "read the latest metrics");
  return out;
}

Result<std::int64_t> SqliteStore::PruneMetrics(const MetricRetention& keep, std::int64_t now) {
  auto c = Acquire();
  std::int64_t deleted = 0;
  Status st = InTransaction(*c, [&]() -> Status {
    for (const auto& [r, age] : {std::pair{MetricResolution::kRaw, keep.raw},
                                 std::pair{MetricResolution::kMinute, keep.minute},
                                 std::pair{MetricResolution::kHour, keep.hour}}) {
      auto q = c->Prepare("DELETE FROM metric_points WHERE resolution = ? AND at < ?");
      if (!q.ok()) return std::move(q).error();
      (*q)->Bind(1, static_cast<std::int64_t>(r)).Bind(2, now - age);
      if (int rc = (*q)->Step(); rc != SQLITE_DONE) return c->ToError(rc, "prune metrics");
      deleted += sqlite3_changes(c->raw());
    }
    return Status::Ok();
  });
  if (!st.ok()) return std::move(st).error();
  return deleted;
}

}  // namespace lattice::store::sqlite
