// LogPump: serves the server's log requests (`logs.open` / `logs.close`) from the engine.
// Each stream is a coroutine on the link's executor reading the engine's log asynchronously
// (runtime::Runtime::StreamLogs); no thread is spent on it and nothing polls:
//   follow=false  the last `tail` lines (≤ 0: all) in `logs.data` messages of ≤ 500 lines,
//                 then `logs.end`
//   follow=true   the last `tail` lines, then new lines as the workload prints them, batched
//                 every ≤ 100 ms, until the container stops, `logs.close`, or CloseAll()
//                 (link loss)
// Every accepted or refused stream finishes with exactly one `logs.end` (with an error text
// when the workload has no container on this node, or too many streams are open), and nothing
// follows it. Close() and CloseAll() close the engine connection: data not yet handed to the
// sink is dropped and `logs.end` follows at once. Concurrent follows are bounded (128 by
// default: the server caps each user at 8, so this node-wide bound only binds past 16 users at
// their cap), one-shot reads too.
//
// Back-pressure: a stream's reader hands full batches (and, every flush interval, partial
// ones) to its sender through a bounded channel, and the sender awaits the sink. A sink that
// waits (a slow link) therefore stops the engine reads: each stream holds at most a few
// batches (≤ max_lines_per_message lines, ≤ max_bytes_per_message bytes each), however much
// the container prints.
//
// Threading: every method must be called on `executor`'s thread (the Agent calls them from its
// link coroutines); the sink runs there too. The stream coroutines hold what they use, so the
// LogPump may be destroyed while they finish (its destructor closes them all); the Runtime
// must outlive the executor's run.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "link/protocol.h"
#include "runtime/runtime.h"

namespace lattice::agent {

// Receives the stream's link::LogsData messages and, last, its link::LogsEnd; may wait (for
// room on the link) before it completes, and the stream waits with it.
using LogSink = std::function<boost::asio::awaitable<void>(link::Message)>;

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
  LogPump(boost::asio::any_io_executor executor, runtime::Runtime& runtime,
          LogPumpOptions options = {});
  ~LogPump();  // closes every stream
  LogPump(const LogPump&) = delete;
  LogPump& operator=(const LogPump&) = delete;

  // Starts serving `req`; everything for it goes to `sink`. A stream id already open is ignored.
  void Open(const link::LogsOpen& req, LogSink sink);
  // Ends the stream (its `logs.end` still follows). Unknown ids are ignored.
  void Close(const std::string& stream_id);
  // Ends every stream: the link they were for is gone.
  void CloseAll();
  // Streams whose `logs.end` has not been handed to their sink yet.
  int ActiveStreams() const;
  // Lines read from the engine and not yet handed to a sink, over all streams: bounded by a
  // few batches per stream, whatever the sink's pace.
  std::size_t BufferedLines() const;

 private:
  struct Stream;

  // A stream's coroutines. Static: they may outlive the LogPump (Stream::pump says if not).
  static boost::asio::awaitable<void> Read(std::shared_ptr<Stream> s);  // engine → batches
  static boost::asio::awaitable<std::string> ReadLines(Stream& s);  // the logs.end error, if any
  static boost::asio::awaitable<void> Tick(std::shared_ptr<Stream> s);  // flushes a follow
  static boost::asio::awaitable<void> Send(std::shared_ptr<Stream> s);  // batches → sink
  void Spawn(boost::asio::awaitable<void> work, const std::string& stream_id);

  // Constant after construction.
  const boost::asio::any_io_executor executor_;
  runtime::Runtime& runtime_;
  const LogPumpOptions options_;

  std::map<std::string, std::shared_ptr<Stream>> streams_;  // open, by id
};

}  // namespace lattice::agent
