// How a metrics series (GET /api/v1/workloads/{id}/metrics, docs/openapi.yaml) reads in a
// terminal. Pure functions of the API's JSON; missing fields render as "-".
#pragma once

#include <boost/json/object.hpp>

#include <string>
#include <string_view>

namespace lattice::cli {

// A summary line (range, step, resolution), then one row per point:
// TIME CPU MEMORY LIMIT NET IN NET OUT DISK READ DISK WRITE — CPU and memory with their maxima.
// A series without points says so.
std::string MetricsTable(const boost::json::object& series);

// 1536 → "1.5 KiB"; bytes below 1 KiB as "512 B".
std::string HumanBytes(double bytes);

// A query value percent-encoded (everything but unreserved characters).
std::string UrlQueryValue(std::string_view v);

}  // namespace lattice::cli
