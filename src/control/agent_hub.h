// AgentHub: the live agent links, by node id. Sends messages to a node's agent without
// blocking (each link has a bounded outgoing queue drained by its own writer), and routes log
// stream data coming back from agents to whoever opened the stream. Thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "link/protocol.h"

namespace lattice::control {

// One connected agent's outgoing side. Implemented by the link session.
class AgentConnection {
 public:
  virtual ~AgentConnection() = default;
  // Queues a message; false if the queue is full or the link is closing.
  virtual bool Send(const link::Message& m) = 0;
  // Asks the link to close (e.g. replaced by a newer connection of the same node).
  virtual void Close() = 0;
};

class AgentHub {
 public:
  // Receives the stream's lines (`data`, with their seqs, generations and times when the agent
  // sends them), then exactly one final call with `end` set (its error empty when the stream
  // ended normally; `more` when older lines match too).
  using LogSink = std::function<void(link::LogsData data, const link::LogsEnd* end)>;

  // Registers the node's link, closing any older link of the same node.
  void Attach(const std::string& node_id, std::shared_ptr<AgentConnection> conn);
  // Unregisters `conn` if it is still the node's link (a newer one may have replaced it).
  // Ends the log streams open on it. Returns true if it was the current link.
  bool Detach(const std::string& node_id, const AgentConnection* conn);
  bool IsConnected(const std::string& node_id) const;
  // Closes and lets go of every link (shutdown: a link must not outlive the io_context its
  // socket belongs to, and the hub is destroyed after it).
  void CloseAll();
  bool Send(const std::string& node_id, const link::Message& m);

  // Opens a log stream on the node (`req` as sent, its stream_id filled in here); returns the
  // stream's id, or "" if the node is not connected.
  std::string OpenLogs(const std::string& node_id, link::LogsOpen req, LogSink sink);
  // Stops a stream early (the client left); no final sink call is made.
  void CloseLogs(const std::string& stream_id);
  // From the link: data and end of a stream.
  void OnLogsData(const std::string& node_id, link::LogsData data);
  void OnLogsEnd(const std::string& node_id, const link::LogsEnd& end);

  // Tunnel streams the agent could not open go to this handler (the edge); set before serving.
  using StreamFailHandler =
      std::function<void(const std::string& node_id, const link::StreamFail& fail)>;
  void SetStreamFailHandler(StreamFailHandler h) { stream_fail_ = std::move(h); }
  void OnStreamFail(const std::string& node_id, const link::StreamFail& fail) {
    if (stream_fail_) stream_fail_(node_id, fail);
  }

 private:
  struct Stream {
    std::string node_id;
    LogSink sink;
  };
  mutable std::mutex mu_;
  // Looked up for every node on every placement pass: hashed, not ordered.
  std::unordered_map<std::string, std::shared_ptr<AgentConnection>> links_;  // guarded by mu_
  std::map<std::string, Stream> streams_;                                    // guarded by mu_
  StreamFailHandler stream_fail_;                                            // set once, before use
};

}  // namespace lattice::control
