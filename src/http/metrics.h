// HttpMetrics: request counters and latency histograms labelled by route pattern, method and
// status, rendered in the Prometheus text exposition format. Thread-safe (one mutex; the
// critical section is a map lookup and a few increments).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace lattice::http {

class HttpMetrics {
 public:
  static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1.0,  5.0};

  // `route` is the matched pattern ("/api/v1/auth/me"), or "unmatched".
  void Record(const std::string& route, std::string_view method, int status, double seconds);

  // Prometheus text format (version 0.0.4).
  std::string Render() const;

 private:
  struct Series {
    std::uint64_t count = 0;
    double sum = 0;
    std::array<std::uint64_t, kBuckets.size()> buckets{};  // non-cumulative
  };
  using Key = std::tuple<std::string, std::string, int>;

  mutable std::mutex mu_;
  std::map<Key, Series> series_;  // guarded by mu_
};

}  // namespace lattice::http
