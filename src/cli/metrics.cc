// metrics: a workload's resource usage over time (GET /api/v1/workloads/{id}/metrics).
#include <boost/json.hpp>

#include "cli/metrics_view.h"
#include "cli/verbs.h"
#include "cli/views.h"

namespace lattice::cli {
namespace json = boost::json;

namespace {

struct MetricsFlags {
  std::string server;
  std::string output = "table";
  std::string name;
  std::string since = "1h";
  std::string step;
};

int RunMetrics(const CLI::App& cmd, const MetricsFlags& f) {
  Session s = Connect(cmd, f.server);
  if (!s) return s.exit_code;
  auto w = FindWorkload(*s.client, f.name);
  if (!w.ok()) return Fail(cmd, w.error());
  // The server checks the values and names the bad one; only encode them here.
  std::string query = "?from=-" + UrlQueryValue(f.since);
  if (!f.step.empty()) query += "&step=" + UrlQueryValue(f.step);
  auto series = s->Get("/api/v1/workloads/" + Text(*w, "id") + "/metrics" + query);
  if (!series.ok()) return Fail(cmd, series.error());
  if (f.output == "json") {
    PrintJson(*series);
    return kExitOk;
  }
  Print(MetricsTable(series->is_object() ? series->as_object() : json::object{}));
  return kExitOk;
}

}  // namespace

void AddMetricsVerb(CLI::App& app, Registry& reg) {
  auto flags = std::make_shared<MetricsFlags>();
  CLI::App* cmd = app.add_subcommand("metrics",
                                     "Show a workload's CPU, memory, network and "
                                     "disk use over time");
  cmd->group("Workloads");
  cmd->add_option("NAME", flags->name, "The workload's name (or id)")->type_name("")->required();
  cmd->add_option("--since", flags->since, "How far back: 90s, 15m, 6h, 7d (at most 90d)")
      ->type_name("DURATION")
      ->capture_default_str();
  cmd->add_option("--step", flags->step,
                  "One row per STEP (10s, 1m, 1h); default: about 300 rows over the range")
      ->type_name("DURATION");
  AddOutputOption(*cmd, flags->output);
  AddServerOption(*cmd, flags->server);
  cmd->footer(
      "CPU is a percent of one core (200% is two cores busy); each cell is the average over the "
      "row's step, with the maximum in parentheses for CPU and memory. Samples are taken every "
      "10 s; older data is kept as 1-minute (7 days) and 1-hour (90 days) rollups.\n"
      "--output json prints the series as the API returns it.\n\n"
      "Examples:\n"
      "  lattice metrics db\n"
      "  lattice metrics db --since 7d --step 1h\n"
      "  lattice metrics db --since 10m --output json | jq '.points[-1].cpu_percent'");
  reg.Add(
      cmd, [cmd, flags] { return RunMetrics(*cmd, *flags); }, /*workload_arg=*/true);
}

}  // namespace lattice::cli
