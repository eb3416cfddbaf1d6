#include "http/metrics.h"

#include <fmt/format.h>

namespace lattice::http {

void HttpMetrics::Record(const std::string& route, std::string_view method, int status,
                         double seconds) {
  std::size_t bucket = kBuckets.size();
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) {
      bucket = i;
      break;
    }
  }
  std::lock_guard lock(mu_);
  Series& s = series_[Key{route, std::string(method), status}];
  ++s.count;
  s.sum += seconds;
  if (bucket < kBuckets.size()) ++s.buckets[bucket];
}

std::string HttpMetrics::Render() const {
  std::lock_guard lock(mu_);
  std::string out;
  out += "# HELP lattice_http_requests_total HTTP requests by route, method and status.\n";
  out += "# TYPE lattice_http_requests_total counter\n";
  for (const auto& [k, s] : series_) {
    out +=
        fmt::format("lattice_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{}\"}} {}\n",
                    std::get<0>(k), std::get<1>(k), std::get<2>(k), s.count);
  }
  out += "# HELP lattice_http_request_duration_seconds HTTP request latency.\n";
  out += "# TYPE lattice_http_request_duration_seconds histogram\n";
  for (const auto& [k, s] : series_) {
    const std::string labels = fmt::format("route=\"{}\",method=\"{}\",status=\"{}\"",
                                           std::get<0>(k), std::get<1>(k), std::get<2>(k));
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
      cumulative += s.buckets[i];
      out += fmt::format("lattice_http_request_duration_seconds_bucket{{{},le=\"{}\"}} {}\n",
                         labels, kBuckets[i], cumulative);
    }
    out += fmt::format("lattice_http_request_duration_seconds_bucket{{{},le=\"+Inf\"}} {}\n",
                       labels, s.count);
    out += fmt::format("lattice_http_request_duration_seconds_sum{{{}}} {}\n", labels, s.sum);
    out += fmt::format("lattice_http_request_duration_seconds_count{{{}}} {}\n", labels, s.count);
  }
  return out;
}

}  // namespace lattice::http
