// PostgresStore: metric samples and their rollups (store/metrics_store.h).
#include "store/metrics_sql.h"
#include "store/postgres/pg_store.h"

namespace lattice::store::postgres {
namespace {

// One round trip per sample: the raw row, and — only if it was new — its two rollups, added to
// their buckets. Affects 2 rows when the sample was new, none when its second was stored.
constexpr const char* kRecord =
    "WITH raw AS ("
    " INSERT INTO metric_points(series, resolution, at, samples, cpu_sum, cpu_max, memory_sum,"
    " memory_max, memory_limit, net_rx_sum, net_rx_max, net_tx_sum, net_tx_max, disk_read_sum,"
    " disk_read_max, disk_write_sum, disk_write_max)"
    " VALUES ($1, 0, $2, 1, $3, $3, $4, $4, $5, $6, $6, $7, $7, $8, $8, $9, $9)"
    " ON CONFLICT DO NOTHING"
    " RETURNING series, at, cpu_sum, memory_sum, memory_limit, net_rx_sum, net_tx_sum,"
    " disk_read_sum, disk_write_sum) "
    "INSERT INTO metric_points(series, resolution, at, samples, cpu_sum, cpu_max, memory_sum,"
    " memory_max, memory_limit, net_rx_sum, net_rx_max, net_tx_sum, net_tx_max, disk_read_sum,"
    " disk_read_max, disk_write_sum, disk_write_max) "
    "SELECT raw.series, r.res, raw.at - raw.at % r.res, 1, cpu_sum, cpu_sum, memory_sum,"
    " memory_sum, memory_limit, net_rx_sum, net_rx_sum, net_tx_sum, net_tx_sum, disk_read_sum,"
    " disk_read_sum, disk_write_sum, disk_write_sum"
    " FROM raw CROSS JOIN (VALUES (60), (3600)) AS r(res) "
    "ON CONFLICT (series, resolution, at) DO UPDATE SET"
    " samples = metric_points.samples + EXCLUDED.samples,"
    " cpu_sum = metric_points.cpu_sum + EXCLUDED.cpu_sum,"
    " cpu_max = GREATEST(metric_points.cpu_max, EXCLUDED.cpu_max),"
    " memory_sum = metric_points.memory_sum + EXCLUDED.memory_sum,"
    " memory_max = GREATEST(metric_points.memory_max, EXCLUDED.memory_max),"
    " memory_limit = GREATEST(metric_points.memory_limit, EXCLUDED.memory_limit),"
    " net_rx_sum = metric_points.net_rx_sum + EXCLUDED.net_rx_sum,"
    " net_rx_max = GREATEST(metric_points.net_rx_max, EXCLUDED.net_rx_max),"
    " net_tx_sum = metric_points.net_tx_sum + EXCLUDED.net_tx_sum,"
    " net_tx_max = GREATEST(metric_points.net_tx_max, EXCLUDED.net_tx_max),"
    " disk_read_sum = metric_points.disk_read_sum + EXCLUDED.disk_read_sum,"
    " disk_read_max = GREATEST(metric_points.disk_read_max, EXCLUDED.disk_read_max),"
    " disk_write_sum = metric_points.disk_write_sum + EXCLUDED.disk_write_sum,"
    " disk_write_max = GREATEST(metric_points.disk_write_max, EXCLUDED.disk_write_max)";

static_assert(static_cast<int>(MetricResolution::kMinute) == 60 &&
                  static_cast<int>(MetricResolution::kHour) == 3600,
              "kRecord names the rollups' sizes");

}  // namespace

Result<std::int64_t> PostgresStore::RecordMetrics(const std::string& node_id,
                                                  const std::vector<MetricSample>& samples) {
  if (samples.empty()) return std::int64_t{0};
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  Connection& conn = **c;
  std::int64_t stored = 0;
  Status st = InTransaction(conn, [&]() -> Status {
    stored = 0;  // a rerun transaction starts over
    auto placed_r = conn.Exec("SELECT id FROM workloads WHERE node_id = $1", Params().Add(node_id));
    if (!placed_r.ok()) return std::move(placed_r).error();
    std::set<std::string> placed;
    for (int i = 0; i < placed_r->rows(); ++i) placed.insert(placed_r->Text(i, 0));
    for (const MetricSample* s : metrics_sql::Admissible(node_id, placed, samples)) {
      auto r = conn.Exec(kRecord, Params()
                                      .Add(s->series)
                                      .Add(s->at)
                                      .Add(s->cpu_percent)
                                      .Add(s->memory_bytes)
                                      .Add(s->memory_limit_bytes)
                                      .Add(s->net_rx_bps)
                                      .Add(s->net_tx_bps)
                                      .Add(s->disk_read_bps)
                                      .Add(s->disk_write_bps));
      if (!r.ok()) return std::move(r).error();
      if (r->affected() > 0) ++stored;
    }
    return Status::Ok();
  });
  if (!st.ok()) return std::move(st).error();
  return stored;
}

Result<std::vector<MetricPoint>> PostgresStore::QueryMetrics(const MetricQuery& q) {
  if (q.step <= 0) return Error::Invalid("step must be positive");
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  static const std::string sql = std::string("SELECT (at / $1::bigint) * $1::bigint AS bucket, ") +
                                 metrics_sql::kAggregates +
                                 " FROM metric_points WHERE series = $2 AND resolution = $3 AND "
                                 "at >= $4 AND at < $5 GROUP BY bucket ORDER BY bucket";
  auto r = (*c)->Exec(sql, Params()
                               .Add(q.step)
                               .Add(q.series)
                               .Add(static_cast<std::int64_t>(q.resolution))
                               .Add(q.from)
                               .Add(q.to));
  if (!r.ok()) return std::move(r).error();
  std::vector<MetricPoint> out;
  out.reserve(r->rows());
  for (int i = 0; i < r->rows(); ++i)
    out.push_back(metrics_sql::MetricPointFromSums(r->Int(i, 0),
                                                   [&r, i](int k) { return r->Double(i, k + 1); }));
  return out;
}

Result<std::vector<LatestMetric>> PostgresStore::LatestMetrics(std::int64_t since) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  auto r = (*c)->Exec(
      "SELECT DISTINCT ON (m.series) m.series, m.at, m.cpu_sum, m.memory_sum, m.memory_limit, "
      "m.net_rx_sum, m.net_tx_sum, m.disk_read_sum, m.disk_write_sum, "
      "COALESCE(w.name, n.name, ''), n.id IS NOT NULL "
      "FROM metric_points m LEFT JOIN workloads w ON w.id = m.series "
      "LEFT JOIN nodes n ON n.id = m.series "
      "WHERE m.resolution = 0 AND m.at >= $1 ORDER BY m.series, m.at DESC",
      Params().Add(since));
  if (!r.ok()) return std::move(r).error();
  std::vector<LatestMetric> out;
  for (int i = 0; i < r->rows(); ++i) {
    LatestMetric m;
    m.sample = MetricSample{r->Text(i, 0),   r->Int(i, 1),    r->Double(i, 2),
                            r->Double(i, 3), r->Double(i, 4), r->Double(i, 5),
                            r->Double(i, 6), r->Double(i, 7), r->Double(i, 8)};
    m.name = r->Text(i, 9);
    m.is_node = r->Text(i, 10) == "t";
    out.push_back(std::move(m));
  }
  return out;
}

Result<std::int64_t> PostgresStore::PruneMetrics(const MetricRetention& keep, std::int64_t now) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  auto r = (*c)->Exec(
      "DELETE FROM metric_points WHERE (resolution = 0 AND at < $1) OR "
      "(resolution = 60 AND at < $2) OR (resolution = 3600 AND at < $3)",
      Params().Add(now - keep.raw).Add(now - keep.minute).Add(now - keep.hour));
  if (!r.ok()) return std::move(r).error();
  return r->affected();
}

}  // namespace lattice::store::postgres
