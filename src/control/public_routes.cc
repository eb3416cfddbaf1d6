#include "control/public_routes.h"

#include <boost/json.hpp>

#include "store/engine_neutral.h"

namespace lattice::control {
namespace json = boost::json;
namespace {

struct StoredPort {
  int container_port = 0;
  std::int64_t idle_timeout_s = 0;  // 0: none, or stored before timeouts existed
};

std::vector<StoredPort> StoredPorts(const store::Workload& w) {
  std::vector<StoredPort> out;
  boost::system::error_code ec;
  json::value v = json::parse(w.ports_json, ec);
  if (ec || !v.is_array()) return out;
  for (const auto& p : v.as_array()) {
    if (!p.is_object()) continue;
    const auto* cp = p.as_object().if_contains("container_port");
    if (!cp || !cp->is_int64()) continue;
    const auto* it = p.as_object().if_contains("idle_timeout_s");
    out.push_back({static_cast<int>(cp->as_int64()),
                   it && it->is_int64() && it->as_int64() > 0 ? it->as_int64() : 0});
  }
  return out;
}

}  // namespace

std::vector<int> ExposedPorts(const store::Workload& w) {
  std::vector<int> out;
  for (const auto& p : StoredPorts(w)) out.push_back(p.container_port);
  return out;
}

std::map<int, std::chrono::milliseconds> IdleTimeouts(const store::Workload& w) {
  std::map<int, std::chrono::milliseconds> out;
  for (const auto& p : StoredPorts(w))
    if (p.idle_timeout_s > 0) out.emplace(p.container_port, std::chrono::seconds(p.idle_timeout_s));
  return out;
}

PublicRoutes::PublicRoutes(store::Store& store, PublicPortRange range)
    : store_(store), range_(std::move(range)) {}

Status PublicRoutes::LoadAll() {
  if (!enabled()) return Status::Ok();
  auto ports = store_.ListPublicPorts();
  if (!ports.ok()) return std::move(ports).error();
  std::map<std::string, std::vector<store::PublicPort>> fresh;
  for (auto& p : *ports) fresh[p.workload_id].push_back(std::move(p));
  std::lock_guard lock(mu_);
  held_ = std::move(fresh);
  return Status::Ok();
}

Status PublicRoutes::Learn(const std::string& workload_id) {
  if (!enabled()) return Status::Ok();
  auto ports = store_.ListPublicPortsOf(workload_id);
  if (!ports.ok()) return std::move(ports).error();
  Hold(workload_id, std::move(ports).value());
  return Status::Ok();
}

Result<std::vector<store::PublicPort>> PublicRoutes::Plan(const store::Workload& w) const {
  if (!enabled()) return std::vector<store::PublicPort>{};
  const std::vector<int> exposed = ExposedPorts(w);
  if (exposed.empty()) return std::vector<store::PublicPort>{};
  std::vector<store::PublicPort> held;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, ports] : held_) held.insert(held.end(), ports.begin(), ports.end());
  }
  const auto any = [](int) { return true; };
  auto plan = store::PlanPublicPorts(held, w.id, exposed, range_.low, range_.high,
                                     range_.usable ? range_.usable : any);
  if (!plan.ok()) return std::move(plan).error();
  return std::move(plan->to_insert);
}

Status PublicRoutes::Allocate(const store::Workload& w) {
  if (!enabled()) return Status::Ok();
  const std::vector<int> exposed = ExposedPorts(w);
  if (exposed.empty()) return Status::Ok();
  const auto any = [](int) { return true; };
  auto ports = store_.AllocatePublicPorts(w.id, exposed, range_.low, range_.high,
                                          range_.usable ? range_.usable : any);
  if (!ports.ok()) return std::move(ports).error();
  Hold(w.id, std::move(ports).value());
  return Status::Ok();
}

void PublicRoutes::Hold(const std::string& workload_id, std::vector<store::PublicPort> ports) {
  if (ports.empty()) return;
  std::lock_guard lock(mu_);
  held_[workload_id] = std::move(ports);
}

bool PublicRoutes::Missing(const store::Workload& w) const {
  return enabled() && Of(w.id).size() < ExposedPorts(w).size();
}

std::vector<store::PublicPort> PublicRoutes::Of(const std::string& workload_id) const {
  std::lock_guard lock(mu_);
  auto it = held_.find(workload_id);
  return it == held_.end() ? std::vector<store::PublicPort>{} : it->second;
}

std::vector<PublicRoute> PublicRoutes::RoutesOf(const store::Workload& w) const {
  std::vector<PublicRoute> out;
  const auto idle = IdleTimeouts(w);
  for (const auto& p : Of(w.id)) {
    PublicRoute r{p.port, w.id, p.container_port, w.node_id,
                  w.desired_state == DesiredState::kRunning};
    if (auto it = idle.find(p.container_port); it != idle.end()) r.idle_timeout = it->second;
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<std::string> PublicRoutes::Holders() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> ids;
  ids.reserve(held_.size());
  for (const auto& [id, ports] : held_) ids.push_back(id);
  return ids;
}

void PublicRoutes::Publish(const store::Workload& w) const {
  if (observer_) observer_(w.id, RoutesOf(w));
}

void PublicRoutes::Forget(const std::string& workload_id) {
  {
    std::lock_guard lock(mu_);
    held_.erase(workload_id);
  }
  if (observer_) observer_(workload_id, {});
}

}  // namespace lattice::control
