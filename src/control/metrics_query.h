// The plan of a metrics query (docs/metrics.md): which range, which bucket size (`step`) and
// which stored resolution answer `?from=&to=&step=`. Pure; thread-safe.
//
//   from, to   Unix seconds, an RFC 3339 time, or a duration before now ("-6h"); to defaults to
//              now, from to one hour before to
//   step       seconds or a duration ("10s", "5m", "1h", "1d"); by default the smallest of a
//              fixed list of steps that gives at most ~300 points
//
// The resolution is the coarsest whose rows divide the step (1-hour rollups for whole hours,
// 1-minute rollups for whole minutes, raw samples otherwise), but never finer than what is
// still kept at `from`: past the raw retention the step is rounded up to whole minutes, past the
// minute retention to whole hours. `from` is aligned down to a multiple of the step, so buckets
// are whole.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "store/metrics_store.h"

namespace lattice::control {

struct MetricsParams {
  std::optional<std::string> from;
  std::optional<std::string> to;
  std::optional<std::string> step;
};

struct MetricsPlan {
  store::MetricResolution resolution = store::MetricResolution::kRaw;
  std::int64_t from = 0;  // aligned to `step`
  std::int64_t to = 0;
  std::int64_t step = 0;
};

inline constexpr std::int64_t kMaxMetricPoints = 5000;

// kInvalidArgument with one FieldError per bad parameter ("from", "to", "step"): not a time or
// duration, from not before to, a range longer than the longest retention, a step that is not
// positive, longer than the range or gives more than kMaxMetricPoints points.
Result<MetricsPlan> PlanMetricsQuery(const MetricsParams& params, std::int64_t now,
                                     const store::MetricRetention& keep);

// "90", "90s", "15m", "6h", "7d" → seconds; nullopt if it is none of these or not positive.
std::optional<std::int64_t> ParseMetricsDuration(std::string_view text);

// The name of a resolution as the API shows it: "raw", "1m", "1h".
std::string_view ResolutionName(store::MetricResolution r);

}  // namespace lattice::control
