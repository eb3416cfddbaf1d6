#include "control/prober.h"

#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include "templates/builtin.h"

namespace lattice::control {

namespace json = boost::json;

namespace {

// A workload is probed while it is meant to run and has started in its generation: a stopped
// container or a lost node then shows as unreachable rather than as not probed.
bool Probed(const store::Workload& w) {
  if (w.desired_state != DesiredState::kRunning || w.node_id.empty()) return false;
  switch (w.status) {
    case WorkloadStatus::kStarting:
    case WorkloadStatus::kRunning:
    case WorkloadStatus::kFailed:
    case WorkloadStatus::kLost:
      return true;
    default:
      return false;
  }
}

struct PortEntry {
  std::string name;
  int container_port = 0;
  std::string protocol;
  std::string probe;
};

// The ports of a workload's stored ports_json (malformed entries are skipped).
std::vector<PortEntry> PortsOf(const store::Workload& w) {
  std::vector<PortEntry> out;
  boost::system::error_code ec;
  json::value v = json::parse(w.ports_json, ec);
  if (ec || !v.is_array()) return out;
  for (const auto& p : v.as_array()) {
    if (!p.is_object()) continue;
    const auto& o = p.as_object();
    const auto text = [&o](const char* key) {
      const auto* x = o.if_contains(key);
      return x && x->is_string() ? std::string(x->as_string()) : std::string();
    };
    const auto* port = o.if_contains("container_port");
    if (!port || !port->is_int64()) continue;
    out.push_back(
        {text("name"), static_cast<int>(port->as_int64()), text("protocol"), text("probe")});
  }
  return out;
}

}  // namespace

std::optional<ProbeTarget> ProbeFor(const std::string& template_name, const std::string& port_name,
                                    const std::string& protocol, const std::string& probe_marker) {
  if (!protocol.empty() && protocol != "tcp") return std::nullopt;  // the edge relays TCP only
  ProbeTarget t;
  if (template_name == templates::builtin::kPostgres && port_name == "postgres") {
    t.protocol = ProbeProtocol::kPostgres;
  } else if (template_name == templates::builtin::kMinio && port_name == "s3") {
    t.protocol = ProbeProtocol::kHttp;
    t.http_path = "/minio/health/ready";
    t.require_200 = true;
  } else if (template_name == templates::builtin::kMinio && port_name == "console") {
    t.protocol = ProbeProtocol::kHttp;
  } else if (probe_marker == "http") {
    t.protocol = ProbeProtocol::kHttp;
  }
  return t;
}

struct Prober::Endpoint {
  Key key;
  std::string name;
  int public_port = 0;
  store::Workload w;  // without spec and credentials
  bool dialled = false;
  std::size_t target = 0;  // its index among the dialled targets
  ProbeOutcome pre;        // the outcome when it is not dialled
};

struct Prober::Pass {
  std::vector<Endpoint> endpoints;
};

Prober::Prober(store::Store& store, const Clock& clock, AlertSink& alerts, ProberSeams seams,
               ProberOptions options)
    : store_(store),
      clock_(clock),
      alerts_(alerts),
      seams_(std::move(seams)),
      options_(std::move(options)),
      runner_(options_.runner) {}

Prober::~Prober() = default;

bool Prober::PassInFlight() const {
  std::lock_guard lock(mu_);
  return in_flight_ != nullptr;
}

void Prober::Tick() {
  if (seams_.leading && !seams_.leading()) {
    // A follower forgets: whoever leads next starts from the store.
    seeded_ = false;
    known_.clear();
    Collect();  // a pass begun while leading is dropped below (not seeded)
    return;
  }
  Collect();
  const std::int64_t now = clock_.NowSeconds();
  if (now - last_prune_ >= options_.prune_every_seconds) {
    last_prune_ = now;
    if (auto n = store_.Probes().PruneProbes(now - options_.keep_seconds); !n.ok())
      spdlog::warn("msg=\"probe results not pruned\" error=\"{}\"", n.error().message);
  }
  if (now - last_start_ >= options_.interval_seconds) StartPass();
}

void Prober::Seed() {
  auto rows = store_.Probes().ProbeEndpoints("");
  if (!rows.ok()) {
    spdlog::warn("msg=\"probe states not read\" error=\"{}\"", rows.error().message);
    return;
  }
  known_.clear();
  for (const auto& r : *rows) {
    Known k;
    k.state = r.state;
    k.reason = r.reason;
    k.changed_at = r.changed_at;
    k.kept_at = r.at;
    k.announced = r.state == EndpointState::kUnreachable;
    known_[{r.workload_id, r.container_port}] = std::move(k);
  }
  seeded_ = true;
}

bool Prober::StartPass() {
  if (PassInFlight()) return false;
  if (!seeded_) Seed();
  if (!seeded_) return false;
  const std::int64_t now = clock_.NowSeconds();
  last_start_ = now;
  auto workloads = store_.ListWorkloads({});
  auto ports = store_.ListPublicPorts();
  if (!workloads.ok() || !ports.ok()) {
    spdlog::warn("msg=\"probe pass skipped\" error=\"{}\"",
                 (!workloads.ok() ? workloads.error() : ports.error()).message);
    return false;
  }
  std::map<Key, int> public_port;
  for (const auto& p : *ports) public_port[{p.workload_id, p.container_port}] = p.port;
  const std::set<std::string> up = seams_.nodes_up ? seams_.nodes_up() : std::set<std::string>{};

  auto pass = std::make_unique<Pass>();
  std::vector<ProbeTarget> targets;
  std::set<Key> probed;
  for (auto& w : *workloads) {
    if (!Probed(w)) continue;
    w.spec_enc.clear();
    w.credentials_enc.clear();
    for (const PortEntry& p : PortsOf(w)) {
      const Key key{w.id, p.container_port};
      auto pub = public_port.find(key);
      if (pub == public_port.end()) continue;  // no edge, or no public port (yet)
      auto target = ProbeFor(w.template_name, p.name, p.protocol, p.probe);
      if (!target) continue;
      Endpoint e;
      e.key = key;
      e.name = p.name;
      e.public_port = pub->second;
      e.w = w;
      if (!up.contains(w.node_id)) {
        e.pre = {ProbeReason::kAgentGone,
                 "the agent of its node is not connected: nothing can reach the container", 0};
      } else if (seams_.port_listening && !seams_.port_listening(e.public_port)) {
        e.pre = {ProbeReason::kPortNotBound,
                 "the edge could not bind public port " + std::to_string(e.public_port) +
                     " (another process may hold it)",
                 0};
      } else {
        target->host = options_.edge_host;
        target->port = e.public_port;
        e.dialled = true;
        e.target = targets.size();
        targets.push_back(std::move(*target));
      }
      probed.insert(key);
      pass->endpoints.push_back(std::move(e));
    }
  }
  // Endpoints no longer probed (the workload stopped or went): unknown, silently.
  std::vector<store::ProbeRecord> dropped;
  for (auto it = known_.begin(); it != known_.end();) {
    if (probed.contains(it->first)) {
      ++it;
      continue;
    }
    if (it->second.state != EndpointState::kUnknown) {
      store::ProbeRecord r;
      r.workload_id = it->first.first;
      r.container_port = it->first.second;
      auto pub = public_port.find(it->first);
      r.public_port = pub == public_port.end() ? 0 : pub->second;
      r.state = EndpointState::kUnknown;
      r.message = "not probed: the workload is not meant to run";
      r.at = r.changed_at = now;
      r.keep = true;
      dropped.push_back(std::move(r));
    }
    it = known_.erase(it);
  }
  if (Status s = store_.Probes().RecordProbes(dropped); !s.ok())
    spdlog::warn("msg=\"probe states not written\" error=\"{}\"", s.error().message);

  {
    std::lock_guard lock(mu_);
    in_flight_ = std::move(pass);
    finished_.reset();
  }
  runner_.Run(std::move(targets), [this](std::vector<ProbeOutcome> outcomes) {
    std::lock_guard lock(mu_);
    finished_ = std::move(outcomes);
  });
  return true;
}

bool Prober::Collect() {
  std::unique_ptr<Pass> pass;
  std::vector<ProbeOutcome> outcomes;
  {
    std::lock_guard lock(mu_);
    if (!in_flight_ || !finished_) return false;
    pass = std::move(in_flight_);
    outcomes = std::move(*finished_);
    finished_.reset();
  }
  if (seeded_) Apply(*pass, std::move(outcomes));
  return true;
}

void Prober::Apply(Pass& pass, std::vector<ProbeOutcome> dialled) {
  const std::int64_t now = clock_.NowSeconds();
  std::vector<store::ProbeRecord> records;
  std::vector<std::pair<const Endpoint*, store::ProbeRecord>> announce;
  for (Endpoint& e : pass.endpoints) {
    const ProbeOutcome& o =
        e.dialled ? (e.target < dialled.size() ? dialled[e.target] : e.pre) : e.pre;
    const EndpointState state = o.ok() ? EndpointState::kReachable : EndpointState::kUnreachable;
    const std::string reason(ProbeReasonName(o.reason));
    Known& k = known_[e.key];
    const bool changed = k.state != state;
    if (changed && !o.ok()) {
      // The pass took a while: a workload stopped meanwhile is not "unreachable".
      auto w = store_.GetWorkload(e.w.id);
      if (!w.ok() || !Probed(*w)) continue;
      e.w.status = w->status;
    }
    store::ProbeRecord r;
    r.workload_id = e.w.id;
    r.container_port = e.key.second;
    r.public_port = e.public_port;
    r.state = state;
    r.reason = reason;
    r.message = o.message;
    r.latency_us = o.ok() ? o.latency_us : 0;
    r.at = now;
    if (changed) k.changed_at = now;
    r.changed_at = k.changed_at;
    r.keep = changed || reason != k.reason || now - k.kept_at >= options_.sample_every_seconds;
    if (r.keep) k.kept_at = now;
    const EndpointState before = k.state;
    k.state = state;
    k.reason = reason;
    if (changed && !o.ok() &&
        (before == EndpointState::kReachable || e.w.status == WorkloadStatus::kRunning)) {
      k.announced = true;
      announce.emplace_back(&e, r);
    } else if (changed && o.ok() && k.announced) {
      k.announced = false;
      announce.emplace_back(&e, r);
    }
    records.push_back(std::move(r));
  }
  if (Status s = store_.Probes().RecordProbes(records); !s.ok())
    spdlog::warn("msg=\"probe results not written\" endpoints={} error=\"{}\"", records.size(),
                 s.error().message);
  for (const auto& [e, r] : announce) Announce(*e, r.state == EndpointState::kReachable, r.message);
}

void Prober::Announce(const Endpoint& e, bool reachable, const std::string& message) {
  const std::int64_t now = clock_.NowSeconds();
  const std::string what =
      "endpoint " + e.name + " (public port " + std::to_string(e.public_port) + ")";
  store::WorkloadEvent ev;
  ev.workload_id = e.w.id;
  ev.at = now;
  ev.status = e.w.status;
  ev.message = reachable ? what + " is reachable again" : what + " is unreachable: " + message;
  if (Status s = store_.AppendEvent(ev); !s.ok())
    spdlog::warn("msg=\"timeline event not written\" workload={} error=\"{}\"", e.w.id,
                 s.error().message);
  Alert a;
  a.kind = reachable ? AlertKind::kEndpointReachable : AlertKind::kEndpointUnreachable;
  a.owner_id = e.w.owner_id;
  a.workload_id = e.w.id;
  a.workload_name = e.w.name;
  a.node_id = e.w.node_id;
  a.subject = e.name + " (public port " + std::to_string(e.public_port) + ")";
  a.message = reachable ? "reachable again" : message;
  a.at = now;
  alerts_.Raise(a);
  spdlog::info("msg=\"endpoint {}\" workload={} port={} reason=\"{}\"",
               reachable ? "reachable" : "unreachable", e.w.id, e.public_port, message);
}

Result<std::vector<store::ProbeRecord>> Prober::Current(const std::string& workload_id) {
  return store_.Probes().ProbeEndpoints(workload_id);
}

Result<std::vector<EndpointProbes>> Prober::History(const Principal& who,
                                                    const std::string& workload_id,
                                                    std::int64_t since, int limit) {
  auto w = store_.GetWorkload(workload_id);
  if (!w.ok() || w->owner_id != who.user_id) {
    if (!w.ok() && w.error().code != ErrorCode::kNotFound) return std::move(w).error();
    return Error::NotFound("No workload with id '" + workload_id.substr(0, 64) + "'.");
  }
  auto ports = store_.ListPublicPortsOf(workload_id);
  if (!ports.ok()) return std::move(ports).error();
  auto current = store_.Probes().ProbeEndpoints(workload_id);
  if (!current.ok()) return std::move(current).error();
  auto history = store_.Probes().ProbeHistory(workload_id, since, limit);
  if (!history.ok()) return std::move(history).error();
  std::vector<EndpointProbes> out;
  for (const PortEntry& p : PortsOf(*w)) {
    if (!ProbeFor(w->template_name, p.name, p.protocol, p.probe)) continue;
    EndpointProbes e;
    e.name = p.name;
    e.current.workload_id = workload_id;
    e.current.container_port = p.container_port;
    for (const auto& pp : *ports)
      if (pp.container_port == p.container_port) e.current.public_port = pp.port;
    if (e.current.public_port == 0) continue;  // not behind the edge: not probed
    for (const auto& c : *current)
      if (c.container_port == p.container_port) e.current = c;
    for (const auto& h : *history)
      if (h.container_port == p.container_port) e.history.push_back(h);
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace lattice::control
