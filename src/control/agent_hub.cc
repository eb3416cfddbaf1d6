#include "control/agent_hub.h"

#include "common/random.h"

namespace lattice::control {

void AgentHub::Attach(const std::string& node_id, std::shared_ptr<AgentConnection> conn) {
  std::shared_ptr<AgentConnection> old;
  {
    std::lock_guard lock(mu_);
    auto& slot = links_[node_id];
    old = std::move(slot);
    slot = std::move(conn);
  }
  if (old) old->Close();
}

bool AgentHub::Detach(const std::string& node_id, const AgentConnection* conn) {
  std::vector<LogSink> ended;
  {
    std::lock_guard lock(mu_);
    auto it = links_.find(node_id);
    if (it == links_.end() || it->second.get() != conn) return false;
    links_.erase(it);
    for (auto s = streams_.begin(); s != streams_.end();) {
      if (s->second.node_id == node_id) {
        ended.push_back(std::move(s->second.sink));
        s = streams_.erase(s);
      } else {
        ++s;
      }
    }
  }
  for (auto& sink : ended) {
    const link::LogsEnd end{"", "the node's agent disconnected"};
    sink({}, &end);
  }
  return true;
}

void AgentHub::CloseAll() {
  std::unordered_map<std::string, std::shared_ptr<AgentConnection>> links;
  {
    std::lock_guard lock(mu_);
    links.swap(links_);
  }
  for (auto& [node, conn] : links) conn->Close();
}

bool AgentHub::IsConnected(const std::string& node_id) const {
  std::lock_guard lock(mu_);
  return links_.count(node_id) > 0;
}

bool AgentHub::Send(const std::string& node_id, const link::Message& m) {
  std::shared_ptr<AgentConnection> conn;
  {
    std::lock_guard lock(mu_);
    auto it = links_.find(node_id);
    if (it == links_.end()) return false;
    conn = it->second;
  }
  return conn->Send(m);
}

std::string AgentHub::OpenLogs(const std::string& node_id, link::LogsOpen req, LogSink sink) {
  const std::string id = NewId("log");
  req.stream_id = id;
  {
    std::lock_guard lock(mu_);
    if (!links_.count(node_id)) return "";
    streams_[id] = Stream{node_id, std::move(sink)};
  }
  if (!Send(node_id, req)) {
    std::lock_guard lock(mu_);
    streams_.erase(id);
    return "";
  }
  return id;
}

void AgentHub::CloseLogs(const std::string& stream_id) {
  std::string node_id;
  {
    std::lock_guard lock(mu_);
    auto it = streams_.find(stream_id);
    if (it == streams_.end()) return;
    node_id = it->second.node_id;
    streams_.erase(it);
  }
  Send(node_id, link::LogsClose{stream_id});
}

void AgentHub::OnLogsData(const std::string& node_id, link::LogsData data) {
  LogSink sink;
  {
    std::lock_guard lock(mu_);
    auto it = streams_.find(data.stream_id);
    if (it == streams_.end() || it->second.node_id != node_id) return;  // not this node's
    sink = it->second.sink;
  }
  sink(std::move(data), nullptr);
}

void AgentHub::OnLogsEnd(const std::string& node_id, const link::LogsEnd& end) {
  LogSink sink;
  {
    std::lock_guard lock(mu_);
    auto it = streams_.find(end.stream_id);
    if (it == streams_.end() || it->second.node_id != node_id) return;
    sink = std::move(it->second.sink);
    streams_.erase(it);
  }
  sink({}, &end);
}

}  // namespace lattice::control
