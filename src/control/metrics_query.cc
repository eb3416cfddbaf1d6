#include "control/metrics_query.h"

#include <charconv>
#include <vector>

#include "common/clock.h"

namespace lattice::control {
namespace {

using store::MetricResolution;

// The default steps, smallest first; a default step gives at most kTargetPoints points.
constexpr std::int64_t kSteps[] = {10,   30,   60,    120,   300,   600,   900,   1800,
                                   3600, 7200, 10800, 21600, 43200, 86400, 604800};
constexpr std::int64_t kTargetPoints = 300;

std::optional<std::int64_t> Integer(std::string_view s) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// A time: Unix seconds, RFC 3339, or "-<duration>" before now.
std::optional<std::int64_t> ParseTime(std::string_view text, std::int64_t now) {
  if (text.empty()) return std::nullopt;
  if (text.front() == '-') {
    auto d = ParseMetricsDuration(text.substr(1));
    if (!d) return std::nullopt;
    return now - *d;
  }
  if (auto secs = Integer(text); secs && *secs >= 0) return secs;
  if (auto micros = ParseTimestampMicros(text)) return *micros / 1'000'000;
  return std::nullopt;
}

std::int64_t RoundUp(std::int64_t v, std::int64_t multiple) {
  return (v + multiple - 1) / multiple * multiple;
}

}  // namespace

std::optional<std::int64_t> ParseMetricsDuration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::int64_t unit = 1;
  switch (text.back()) {
    case 's':
      text.remove_suffix(1);
      break;
    case 'm':
      unit = 60, text.remove_suffix(1);
      break;
    case 'h':
      unit = 3600, text.remove_suffix(1);
      break;
    case 'd':
      unit = 86400, text.remove_suffix(1);
      break;
    default:
      break;
  }
  auto v = Integer(text);
  if (!v || *v <= 0 || *v > 10 * 365 * 86400 / unit) return std::nullopt;
  return *v * unit;
}

std::string_view ResolutionName(MetricResolution r) {
  switch (r) {
    case MetricResolution::kRaw:
      return "raw";
    case MetricResolution::kMinute:
      return "1m";
    case MetricResolution::kHour:
      return "1h";
  }
  return "raw";
}

Result<MetricsPlan> PlanMetricsQuery(const MetricsParams& params, std::int64_t now,
                                     const store::MetricRetention& keep) {
  std::vector<FieldError> errors;
  std::int64_t to = now;
  if (params.to) {
    if (auto t = ParseTime(*params.to, now))
      to = *t;
    else
      errors.push_back({"to", "must be Unix seconds, an RFC 3339 time or -DURATION (e.g. -1h)"});
  }
  std::int64_t from = to - 3600;
  if (params.from) {
    if (auto f = ParseTime(*params.from, now))
      from = *f;
    else
      errors.push_back({"from", "must be Unix seconds, an RFC 3339 time or -DURATION (e.g. -6h)"});
  }
  std::optional<std::int64_t> step;
  if (params.step) {
    step = ParseMetricsDuration(*params.step);
    if (!step)
      errors.push_back({"step",
                        "must be a positive number of seconds or a duration "
                        "such as 10s, 5m, 1h"});
  }
  if (errors.empty() && from >= to) errors.push_back({"from", "must be before to"});
  if (errors.empty() && to - from > keep.hour)
    errors.push_back(
        {"from", "must be at most " + std::to_string(keep.hour / 86400) + " days before to"});
  if (errors.empty() && step && *step > to - from)
    errors.push_back({"step", "must not be longer than the range from..to"});
  if (!errors.empty()) return Error::Invalid("Invalid metrics query.", errors);

  // The finest resolution still kept at `from`.
  const std::int64_t age = now - from;
  const std::int64_t finest = age <= keep.raw ? 1
                              : age <= keep.minute
                                  ? static_cast<std::int64_t>(MetricResolution::kMinute)
                                  : static_cast<std::int64_t>(MetricResolution::kHour);
  std::int64_t s = 0;
  if (step) {
    s = RoundUp(*step, finest);
  } else {
    const std::int64_t want = std::max<std::int64_t>(finest, (to - from) / kTargetPoints);
    s = kSteps[std::size(kSteps) - 1];
    for (std::int64_t c : kSteps)
      if (c >= want) {
        s = RoundUp(c, finest);
        break;
      }
  }
  if ((to - from) / s > kMaxMetricPoints)
    return Error::Invalid("Invalid metrics query.",
                          {{"step", "is too small for the range: at most " +
                                        std::to_string(kMaxMetricPoints) + " points"}});
  MetricsPlan plan;
  plan.step = s;
  plan.to = to;
  plan.from = from - from % s;
  plan.resolution = s % 3600 == 0 ? MetricResolution::kHour
                    : s % 60 == 0 ? MetricResolution::kMinute
                                  : MetricResolution::kRaw;
  return plan;
}

}  // namespace lattice::control
