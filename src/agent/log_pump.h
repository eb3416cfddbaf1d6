// LogPump: serves the server's log requests (`logs.open` / `logs.close`) from the engine.
// Each stream runs on its own thread:
//   follow=false  the last `tail` lines (≤ 0: all) in `logs.data` messages of ≤ 500 lines,
//                 then `logs.end`
//   follow=true   the last `tail` lines, then new lines as the workload prints them, batched
//                 every ≤ 100 ms, until the container stops, `logs.close`, or CloseAll()
//                 (link loss)
// Every accepted or refused stream finishes with exactly one `logs.end` (with an error text
// when the workload has no container on this node, or too many streams are open), and nothing
// follows it. Concurrent follows are bounded (128 by default: the server caps each user at 8,
// so this node-wide bound only binds past 16 users at their cap), one-shot reads too.
//
// Threading: public methods are thread-safe and never block on the engine, so the link's I/O
// thread may call them. The sink is called from pump threads (and, for an immediate refusal,
// from the caller of Open); it may block briefly to apply back-pressure but must not call back
// into the LogPump. The Runtime must outlive the LogPump.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "link/protocol.h"
#include "runtime/runtime.h"

namespace lattice::agent {

// Receives the stream's link::LogsData messages and, last, its link::LogsEnd.
using LogSink = std::function<void(link::Message)>;

struct LogPumpOptions {
  int max_follows = 128;
  int max_oneshots = 8;
  std::size_t max_lines_per_message = 500;
  std::size_t max_bytes_per_message = 1 << 20;
  std::size_t max_line_bytes = 64 << 10;  // longer lines are cut (and marked)
  std::chrono::milliseconds flush_interval{100};
};

class LogPump {
 public:
  explicit LogPump(runtime::Runtime& runtime, LogPumpOptions options = {});
  ~LogPump();  // cancels every stream and waits for its thread
  LogPump(const LogPump&) = delete;
  LogPump& operator=(const LogPump&) = delete;

  // Starts serving `req`; everything for it goes to `sink`. A stream id already open is ignored.
  void Open(const link::LogsOpen& req, LogSink sink);
  // Ends the stream (its `logs.end` still follows). Unknown ids are ignored.
  void Close(const std::string& stream_id);
  // Ends every stream: the link they were for is gone.
  void CloseAll();
  // Streams still running.
  int ActiveStreams() const;

 private:
  struct Stream;

  void Serve(Stream& s, link::LogsOpen req);
  void ServeOnce(Stream& s, const std::string& container, int tail);
  void ServeFollow(Stream& s, const std::string& container, int tail);
  void AddLine(Stream& s, std::string_view line);  // may flush a full batch
  void Flush(Stream& s);                           // s.mu held
  void End(Stream& s, std::string error);
  void FlushLoop();
  void Reap();  // joins finished streams

  // Constant after construction.
  runtime::Runtime& runtime_;
  const LogPumpOptions options_;

  // Protected by mu_.
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::map<std::string, std::shared_ptr<Stream>> streams_;
  bool stopping_ = false;

  std::thread flusher_;
};

}  // namespace lattice::agent
