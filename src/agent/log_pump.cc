#include "agent/log_pump.h"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <utility>
#include <vector>

#include "agent/workload_container.h"

namespace lattice::agent {
namespace {

namespace asio = boost::asio;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// What a stream's reader hands its sender: lines for one `logs.data`, or the last ones and
// the end.
struct Batch {
  std::vector<std::string> lines;
  bool end = false;
  std::string error;  // for logs.end
};
// Capacity 1: with the batch being filled and the one the sender holds, a stream keeps at most
// a few batches however slow its sink.
using BatchChannel = asio::experimental::channel<void(boost::system::error_code, Batch)>;

std::string NoContainer(const std::string& workload_id) {
  return "workload " + workload_id.substr(0, 64) + " has no container on this node";
}

asio::awaitable<void> Refuse(LogSink sink, link::Message end) {
  co_await sink(std::move(end));
}

}  // namespace

struct LogPump::Stream {
  Stream(const asio::any_io_executor& ex, const link::LogsOpen& req, LogSink s, LogPump* p)
      : id(req.stream_id),
        workload_id(req.workload_id),
        follow(req.follow),
        sink(std::move(s)),
        pump(p),
        options(p->options_),
        ticker(ex),
        out(ex, 1) {}

  // Holds a line back until the next batch goes; true when the batch is full.
  bool Add(std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::string text(line.substr(0, options.max_line_bytes));
    if (line.size() > options.max_line_bytes) text += " [line truncated]";
    batch_bytes += text.size();
    batch.push_back(std::move(text));
    ++buffered;
    return batch.size() >= options.max_lines_per_message ||
           batch_bytes >= options.max_bytes_per_message;
  }
  Batch Take() {
    batch_bytes = 0;
    return Batch{std::exchange(batch, {}), false, {}};
  }
  void Close() {
    closing = true;
    if (reader) reader->Close();
    ticker.cancel();
  }

  const std::string id;
  const std::string workload_id;
  const bool follow;
  const LogSink sink;
  LogPump* pump;  // null once the LogPump is gone
  const LogPumpOptions options;
  std::unique_ptr<runtime::LogReader> reader;  // null: the workload id cannot name a container
  asio::steady_timer ticker;                   // the flush interval of a follow
  BatchChannel out;                            // reader (and ticker) → sender

  std::vector<std::string> batch;  // being filled by the reader
  std::size_t batch_bytes = 0;
  std::size_t buffered = 0;  // lines read and not yet handed to the sink (or dropped)
  bool closing = false;      // Close(): no more data goes out
  bool read_done = false;    // the reader has sent its last batch, or is sending it
};

LogPump::LogPump(asio::any_io_executor executor, runtime::Runtime& runtime, LogPumpOptions options)
    : executor_(std::move(executor)), runtime_(runtime), options_(options) {}

LogPump::~LogPump() {
  for (auto& [id, s] : streams_) {
    s->pump = nullptr;
    s->Close();
  }
}

void LogPump::Open(const link::LogsOpen& req, LogSink sink) {
  if (streams_.count(req.stream_id)) {
    spdlog::warn("event=logs_duplicate stream={}", req.stream_id);
    return;
  }
  int follows = 0, oneshots = 0;
  for (const auto& [id, s] : streams_) (s->follow ? follows : oneshots)++;
  std::string refusal;
  if (req.follow && follows >= options_.max_follows) {
    refusal = "too many log streams are being followed on this node (" +
              std::to_string(options_.max_follows) + "); try again later";
  } else if (!req.follow && oneshots >= options_.max_oneshots) {
    refusal = "too many log reads are running on this node; try again later";
  }
  if (!refusal.empty()) {
    if (sink) {
      link::Message end = link::LogsEnd{req.stream_id, refusal};
      Spawn(Refuse(std::move(sink), std::move(end)), req.stream_id);
    }
    return;
  }
  auto s = std::make_shared<Stream>(executor_, req, std::move(sink), this);
  if (IsValidWorkloadId(req.workload_id))
    s->reader = runtime_.StreamLogs(executor_, ContainerName(req.workload_id),
                                    req.tail > 0 ? req.tail : 0, req.follow);
  streams_[req.stream_id] = s;
  Spawn(Send(s), req.stream_id);
  if (req.follow) Spawn(Tick(s), req.stream_id);
  Spawn(Read(s), req.stream_id);
}

void LogPump::Close(const std::string& stream_id) {
  if (auto it = streams_.find(stream_id); it != streams_.end()) it->second->Close();
}

void LogPump::CloseAll() {
  for (auto& [id, s] : streams_) s->Close();
}

int LogPump::ActiveStreams() const {
  return static_cast<int>(streams_.size());
}

std::size_t LogPump::BufferedLines() const {
  std::size_t n = 0;
  for (const auto& [id, s] : streams_) n += s->buffered;
  return n;
}

void LogPump::Spawn(asio::awaitable<void> work, const std::string& stream_id) {
  asio::co_spawn(executor_, std::move(work), [stream_id](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {  // a bug
      spdlog::error("event=logs_crash stream={} error=\"{}\"", stream_id, x.what());
    }
  });
}

asio::awaitable<void> LogPump::Read(std::shared_ptr<Stream> s) {
  std::string error;
  try {
    error = co_await ReadLines(*s);
  } catch (const std::exception& e) {  // a bug: still end the stream
    spdlog::error("event=logs_crash stream={} error=\"{}\"", s->id, e.what());
    error = "internal error while reading the logs";
  }
  s->read_done = true;
  s->ticker.cancel();
  Batch last = s->Take();
  last.end = true;
  last.error = std::move(error);
  const boost::system::error_code ok;
  co_await s->out.async_send(ok, std::move(last), kNoThrow);
}

asio::awaitable<std::string> LogPump::ReadLines(Stream& s) {
  if (!s.reader) co_return NoContainer(s.workload_id);
  for (;;) {
    auto lines = co_await s.reader->Next();
    if (s.closing) co_return "";
    if (!lines.ok()) {
      if (lines.error().code == ErrorCode::kNotFound) co_return NoContainer(s.workload_id);
      co_return (s.follow ? "the log stream broke: " : "could not read the logs: ") +
          lines.error().message;
    }
    if (lines->empty()) co_return "";
    for (const auto& line : *lines) {
      if (!s.Add(line)) continue;
      const boost::system::error_code ok;
      Batch full = s.Take();
      co_await s.out.async_send(ok, std::move(full), kNoThrow);
      if (s.closing) co_return "";
    }
  }
}

asio::awaitable<void> LogPump::Tick(std::shared_ptr<Stream> s) {
  while (!s->read_done && !s->closing) {
    s->ticker.expires_after(s->options.flush_interval);
    co_await s->ticker.async_wait(kNoThrow);
    if (s->read_done || s->closing) break;
    if (s->batch.empty()) continue;
    const boost::system::error_code ok;
    Batch partial = s->Take();
    co_await s->out.async_send(ok, std::move(partial), kNoThrow);
  }
}

asio::awaitable<void> LogPump::Send(std::shared_ptr<Stream> s) {
  auto forget = [&] {
    if (s->pump == nullptr) return;
    auto& streams = s->pump->streams_;
    if (auto it = streams.find(s->id); it != streams.end() && it->second == s) streams.erase(it);
  };
  for (;;) {
    auto [ec, b] = co_await s->out.async_receive(kNoThrow);
    if (ec) break;
    s->buffered -= b.lines.size();
    // (Named messages: GCC 12 destroys a temporary in a co_await full-expression twice.)
    if (!b.lines.empty() && !s->closing && s->sink) {
      link::Message data = link::LogsData{s->id, std::move(b.lines)};
      co_await s->sink(std::move(data));
    }
    if (!b.end) continue;
    if (!b.error.empty()) spdlog::info("event=logs_end stream={} error=\"{}\"", s->id, b.error);
    forget();
    if (s->sink) {
      link::Message end = link::LogsEnd{s->id, std::move(b.error)};
      co_await s->sink(std::move(end));
    }
    co_return;
  }
  forget();
}

}  // namespace lattice::agent
