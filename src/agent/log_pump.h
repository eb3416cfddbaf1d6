// LogPump: serves the server's log requests (`logs.open` / `logs.close`) from the logs the node
// keeps (LogStore, filled by LogCapture), not from the container: so a read covers every
// container the workload had (each line tagged with its container generation), and a follow
// goes on across a container's replacement. Each stream is one coroutine on the link's
// executor; nothing polls (the store wakes followers after each append) and no thread is spent
// on it:
//   follow=false  the newest `tail` lines that match the bounds (since, until, before, generation,
//                 filter) in `logs.data` messages of ≤ 500 lines, then `logs.end` (with `more`
//                 when older lines match too)
//   follow=true   the same, then new matching lines as they are kept, batched every ≤ 100 ms,
//                 until `logs.close`, CloseAll() (link loss), or the workload's logs are deleted
// Every accepted or refused stream finishes with exactly one `logs.end` (with an error text
// when the node keeps nothing for the workload and does not run it, or too many streams are
// open), and nothing follows it. Close() and CloseAll() end the stream at its next step: data
// not yet handed to the sink is dropped and `logs.end` follows. Concurrent follows are bounded
// (128 by default: the server caps each user at 8, so this node-wide bound only binds past 16
// users at their cap), one-shot reads too.
//
// Back-pressure: a stream reads at most one message's worth of lines from the store before it
// awaits the sink, so a slow link holds no more than a batch per stream.
//
// Threading: every method must be called on `executor`'s thread (the Agent calls them from its
// link coroutines); the sink runs there too. The stream coroutines hold what they use, so the
// LogPump may be destroyed while they finish (its destructor closes them all); the LogStore must
// outlive the executor's run.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "agent/log_store.h"
#include "link/protocol.h"

namespace lattice::agent {

// Receives the stream's link::LogsData messages and, last, its link::LogsEnd; may wait (for
// room on the link) before it completes, and the stream waits with it.
using LogSink = std::function<boost::asio::awaitable<void>(link::Message)>;
// Whether the workload is assigned to this node (it may have no logs yet). Thread-safe.
using WorkloadKnown = std::function<bool(const std::string& workload_id)>;

struct LogPumpOptions {
  int max_follows = 128;
  int max_oneshots = 8;
  int max_tail = 10000;
  std::size_t max_lines_per_message = 500;
  std::size_t max_bytes_per_message = 1 << 20;
  std::chrono::milliseconds flush_interval{100};
};

class LogPump {
 public:
  LogPump(boost::asio::any_io_executor executor, LogStore& store, WorkloadKnown known,
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
  // Lines read from the store and not yet handed to a sink, over all streams: at most a batch
  // per stream, whatever the sink's pace.
  std::size_t BufferedLines() const;

 private:
  struct Stream;

  // A stream's coroutine. Static: it may outlive the LogPump (Stream::pump says if not).
  static boost::asio::awaitable<void> Serve(std::shared_ptr<Stream> s);
  // Sends `records` in messages of bounded size; false once the stream is closing.
  static boost::asio::awaitable<bool> SendRecords(Stream& s, std::vector<LogRecord> records);
  void Spawn(boost::asio::awaitable<void> work, const std::string& stream_id);

  // Constant after construction.
  const boost::asio::any_io_executor executor_;
  LogStore& store_;
  const WorkloadKnown known_;
  const LogPumpOptions options_;

  std::map<std::string, std::shared_ptr<Stream>> streams_;  // open, by id
};

}  // namespace lattice::agent
