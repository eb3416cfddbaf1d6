#include "cli/views.h"

#include <boost/json.hpp>

#include <cstdio>

#include "cli/table.h"

namespace lattice::cli {
namespace json = boost::json;

namespace {

constexpr std::size_t kRecentEvents = 10;

std::string Number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

const json::object& Obj(const json::object& o, std::string_view key) {
  static const json::object kEmpty;
  const json::value* v = o.if_contains(key);
  return v && v->is_object() ? v->as_object() : kEmpty;
}

const json::array& Arr(const json::object& o, std::string_view key) {
  static const json::array kEmpty;
  const json::value* v = o.if_contains(key);
  return v && v->is_array() ? v->as_array() : kEmpty;
}

std::string Endpoints(const json::object& w) {
  std::string out;
  for (const auto& e : Arr(w, "endpoints")) {
    const json::value* url = e.is_object() ? e.as_object().if_contains("url") : nullptr;
    if (!url || !url->is_string()) continue;
    if (!out.empty()) out += ", ";
    out += Text(e.as_object(), "url");
  }
  return out.empty() ? "-" : out;
}

std::string Resources(const json::object& w) {
  const json::object& r = Obj(w, "resources");
  const auto* mem = r.if_contains("memory_mb");
  const auto* cpus = r.if_contains("cpus");
  const bool has_mem = mem && mem->is_number() && mem->to_number<double>() > 0;
  const bool has_cpus = cpus && cpus->is_number() && cpus->to_number<double>() > 0;
  if (!has_mem && !has_cpus) return "no limits";
  std::string out;
  if (has_mem) out = Text(r, "memory_mb") + " MB memory";
  if (has_cpus) out += (out.empty() ? "" : ", ") + Text(r, "cpus") + " CPUs";
  return out;
}

std::string Indent(const std::string& block) {
  std::string out;
  std::size_t start = 0;
  while (start < block.size()) {
    const auto nl = block.find('\n', start);
    out += "  " + block.substr(start, nl - start + 1);
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return out;
}

}  // namespace

std::string Text(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (!v || v->is_null()) return "-";
  if (v->is_string()) return v->as_string().empty() ? "-" : std::string(v->as_string());
  if (v->is_int64()) return std::to_string(v->as_int64());
  if (v->is_uint64()) return std::to_string(v->as_uint64());
  if (v->is_double()) return Number(v->as_double());
  if (v->is_bool()) return v->as_bool() ? "true" : "false";
  return json::serialize(*v);
}

std::string WorkloadsTable(const json::array& workloads, std::int64_t now) {
  Table t({"NAME", "TEMPLATE", "STATUS", "NODE", "ENDPOINTS", "AGE"});
  for (const auto& v : workloads) {
    if (!v.is_object()) continue;
    const json::object& w = v.as_object();
    const auto created = ParseTimestamp(Text(w, "created_at"));
    t.AddRow({Text(w, "name"), Text(w, "template"), Text(w, "status"), Text(w, "node_name"),
              Endpoints(w), created ? FormatAge(now - *created) : "-"});
  }
  return t.Render();
}

std::string NodesTable(const json::array& nodes, std::int64_t now) {
  Table t({"NAME", "STATUS", "ADDRESS", "CPUS", "MEMORY", "VERSION", "LAST SEEN"});
  for (const auto& v : nodes) {
    if (!v.is_object()) continue;
    const json::object& n = v.as_object();
    const std::string mem = Text(n, "memory_mb");
    t.AddRow({Text(n, "name"), Text(n, "status"), Text(n, "address"), Text(n, "cpus"),
              mem == "-" ? mem : mem + " MB", Text(n, "agent_version"),
              Ago(Text(n, "last_heartbeat"), now)});
  }
  return t.Render();
}

std::string InvitesTable(const json::array& invites, std::int64_t now) {
  Table t({"ID", "NOTE", "STATUS", "USED BY", "CREATED", "EXPIRES"});
  for (const auto& v : invites) {
    if (!v.is_object()) continue;
    const json::object& i = v.as_object();
    const std::string status = Text(i, "status");
    const auto expires = ParseTimestamp(Text(i, "expires_at"));
    std::string expiry = Text(i, "expires_at");
    if (status == "pending" && expires) expiry = "in " + FormatAge(*expires - now);
    t.AddRow({Text(i, "id"), Text(i, "note"), status, Text(Obj(i, "used_by"), "email"),
              Ago(Text(i, "created_at"), now), status == "used" ? "-" : expiry});
  }
  return t.Render();
}

std::string AuditTable(const json::array& events) {
  Table t({"TIME", "ACTOR", "ACTION", "TARGET", "FROM", "OUTCOME", "DETAIL"});
  for (const auto& v : events) {
    if (!v.is_object()) continue;
    const json::object& e = v.as_object();
    const std::string actor = Text(Obj(e, "actor"), "email");
    t.AddRow({Text(e, "at"), actor == "-" ? "anonymous" : actor, Text(e, "action"),
              Text(e, "target"), Text(e, "client_address"), Text(e, "outcome"), Text(e, "detail")});
  }
  return t.Render();
}

std::string ConnectionDetails(const json::object& w) {
  std::string out;
  Table endpoints;
  for (const auto& e : Arr(w, "endpoints")) {
    if (!e.is_object()) continue;
    const json::object& ep = e.as_object();
    const std::string url = Text(ep, "url");
    const std::string node_port = Text(ep, "node_port");
    endpoints.AddRow({Text(ep, "name"), url == "-" ? "(not published yet)" : url,
                      node_port == "-" ? "" : "on the node: 127.0.0.1:" + node_port});
  }
  if (!Arr(w, "endpoints").empty()) out += "Endpoints:\n" + Indent(endpoints.Render());
  Table creds;
  for (const auto& [k, v] : Obj(w, "credentials"))
    creds.AddRow({std::string(k), v.is_string() ? std::string(v.as_string()) : json::serialize(v)});
  if (!Obj(w, "credentials").empty()) out += "Credentials:\n" + Indent(creds.Render());
  return out;
}

// Each probed endpoint's outside-in state (docs/probes.md); empty if none carries a probe.
std::string Reachability(const json::object& w, std::int64_t now) {
  Table t({"ENDPOINT", "STATE", "LATENCY", "CHECKED", "WHY"});
  bool any = false;
  for (const auto& e : Arr(w, "endpoints")) {
    if (!e.is_object()) continue;
    const json::object& p = Obj(e.as_object(), "probe");
    if (p.empty()) continue;
    any = true;
    const std::string latency = Text(p, "latency_ms");
    const std::string checked = Text(p, "checked_at");
    t.AddRow({Text(e.as_object(), "name"), Text(p, "state"),
              latency == "-" ? latency : latency + " ms",
              checked == "-" ? checked : Ago(checked, now), Text(p, "message")});
  }
  return any ? "Reachability (from outside, through the edge):\n" + Indent(t.Render()) : "";
}

std::string WorkloadPage(const json::object& w, const json::array& events, std::int64_t now) {
  Table facts;
  facts.AddRow({"Name:", Text(w, "name")});
  facts.AddRow({"ID:", Text(w, "id")});
  facts.AddRow({"Template:", Text(w, "template")});
  facts.AddRow({"Image:", Text(w, "image")});
  facts.AddRow({"Status:", Text(w, "status")});
  if (Text(w, "status_reason") != "-") facts.AddRow({"Reason:", Text(w, "status_reason")});
  facts.AddRow({"Desired:", Text(w, "desired_state")});
  facts.AddRow({"Node:", Text(w, "node_name")});
  facts.AddRow({"Resources:", Resources(w)});
  facts.AddRow({"Created:", Text(w, "created_at") + " (" + Ago(Text(w, "created_at"), now) + ")"});
  facts.AddRow({"Updated:", Text(w, "updated_at") + " (" + Ago(Text(w, "updated_at"), now) + ")"});
  std::string out = facts.Render();
  const std::string conn = ConnectionDetails(w);
  if (!conn.empty()) out += "\n" + conn;
  if (const std::string r = Reachability(w, now); !r.empty()) out += "\n" + r;
  if (!events.empty()) {
    Table t({"TIME", "STATUS", "MESSAGE"});
    const std::size_t first = events.size() > kRecentEvents ? events.size() - kRecentEvents : 0;
    for (std::size_t i = first; i < events.size(); ++i) {
      if (!events[i].is_object()) continue;
      const json::object& e = events[i].as_object();
      t.AddRow({Text(e, "at"), Text(e, "status"), Text(e, "message")});
    }
    out += "\nEvents:\n" + Indent(t.Render());
  }
  return out;
}

}  // namespace lattice::cli
