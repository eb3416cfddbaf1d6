#include "cli/metrics_view.h"

#include <boost/json.hpp>

#include <cctype>
#include <cstdio>
#include <optional>

#include "cli/table.h"
#include "cli/views.h"

namespace lattice::cli {
namespace json = boost::json;

namespace {

std::optional<double> Num(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_double()) return v->as_double();
  if (v->is_int64()) return static_cast<double>(v->as_int64());
  if (v->is_uint64()) return static_cast<double>(v->as_uint64());
  return std::nullopt;
}

std::string Fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string Percent(const json::object& p, std::string_view avg, std::string_view max) {
  auto a = Num(p, avg), m = Num(p, max);
  if (!a) return "-";
  std::string out = Fixed(*a, 1) + "%";
  if (m) out += " (" + Fixed(*m, 0) + "%)";
  return out;
}

std::string Bytes(const json::object& p, std::string_view avg, std::string_view max = {}) {
  auto a = Num(p, avg);
  if (!a) return "-";
  std::string out = HumanBytes(*a);
  if (!max.empty())
    if (auto m = Num(p, max)) out += " (" + HumanBytes(*m) + ")";
  return out;
}

std::string Rate(const json::object& p, std::string_view key) {
  auto a = Num(p, key);
  return a ? HumanBytes(*a) + "/s" : "-";
}

// "2027-01-15T08:01:00Z" → "2027-01-15 08:01:00" (UTC, as the API says).
std::string When(const json::object& p) {
  std::string t = Text(p, "at");
  if (t.size() == 20 && t[10] == 'T' && t.back() == 'Z')
    t = t.substr(0, 10) + " " + t.substr(11, 8);
  return t;
}

}  // namespace

std::string HumanBytes(double bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int u = 0;
  while (bytes >= 1024 && u < 5) bytes /= 1024, ++u;
  return u == 0 ? Fixed(bytes, 0) + " B" : Fixed(bytes, 1) + " " + kUnits[u];
}

std::string UrlQueryValue(std::string_view v) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : v) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string MetricsTable(const json::object& series) {
  std::string out = "From " + Text(series, "from") + " to " + Text(series, "to") + ", every " +
                    Text(series, "step") + " s (" + Text(series, "resolution") + " data), UTC.\n";
  const json::value* points = series.if_contains("points");
  if (points == nullptr || !points->is_array() || points->as_array().empty())
    return out + "No samples in this range yet (a running workload is sampled every 10 s).\n";
  Table t({"TIME", "CPU (MAX)", "MEMORY (MAX)", "LIMIT", "NET IN", "NET OUT", "DISK READ",
           "DISK WRITE"});
  for (const json::value& v : points->as_array()) {
    if (!v.is_object()) continue;
    const json::object& p = v.as_object();
    t.AddRow({When(p), Percent(p, "cpu_percent", "cpu_percent_max"),
              Bytes(p, "memory_bytes", "memory_bytes_max"), Bytes(p, "memory_limit_bytes"),
              Rate(p, "net_rx_bps"), Rate(p, "net_tx_bps"), Rate(p, "disk_read_bps"),
              Rate(p, "disk_write_bps")});
  }
  return out + t.Render();
}

}  // namespace lattice::cli
