#include "agent/log_pump.h"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <utility>
#include <vector>

namespace lattice::agent {
namespace {

namespace asio = boost::asio;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

std::string NoLogs(const std::string& workload_id) {
  return "workload " + workload_id.substr(0, 64) + " has no container on this node";
}

asio::awaitable<void> Refuse(LogSink sink, link::Message end) {
  co_await sink(std::move(end));
}

}  // namespace

struct LogPump::Stream {
  Stream(const asio::any_io_executor& ex, const link::LogsOpen& r, LogSink s, LogPump* p)
      : req(r), sink(std::move(s)), pump(p), store(p->store_), options(p->options_), wake(ex) {
    wake.expires_at(asio::steady_timer::time_point::max());
  }
  void Close() {
    closing = true;
    wake.cancel();
  }

  const link::LogsOpen req;
  const LogSink sink;
  LogPump* pump;  // null once the LogPump is gone
  LogStore& store;
  const LogPumpOptions options;
  asio::steady_timer wake;  // a follower waits on it; the store's appends and Close() cancel it
  bool dirty = false;       // appended since the follower last read
  bool closing = false;     // Close(): no more data goes out
  std::size_t buffered = 0;
};

LogPump::LogPump(asio::any_io_executor executor, LogStore& store, WorkloadKnown known,
                 LogPumpOptions options)
    : executor_(std::move(executor)), store_(store), known_(std::move(known)), options_(options) {}

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
  for (const auto& [id, s] : streams_) (s->req.follow ? follows : oneshots)++;
  std::string refusal;
  if (req.follow && follows >= options_.max_follows) {
    refusal = "too many log streams are being followed on this node (" +
              std::to_string(options_.max_follows) + "); try again later";
  } else if (!req.follow && oneshots >= options_.max_oneshots) {
    refusal = "too many log reads are running on this node; try again later";
  } else if (!store_.Has(req.workload_id) && !(known_ && known_(req.workload_id))) {
    refusal = NoLogs(req.workload_id);
  }
  if (!refusal.empty()) {
    if (sink) {
      link::Message end = link::LogsEnd{req.stream_id, refusal};
      Spawn(Refuse(std::move(sink), std::move(end)), req.stream_id);
    }
    return;
  }
  auto s = std::make_shared<Stream>(executor_, req, std::move(sink), this);
  streams_[req.stream_id] = s;
  Spawn(Serve(s), req.stream_id);
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

asio::awaitable<bool> LogPump::SendRecords(Stream& s, std::vector<LogRecord> records) {
  std::size_t at = 0;
  while (at < records.size()) {
    if (s.closing) co_return false;
    link::LogsData data;
    data.stream_id = s.req.stream_id;
    std::size_t bytes = 0;
    while (at < records.size() && data.lines.size() < s.options.max_lines_per_message &&
           (data.lines.empty() ||
            bytes + records[at].text.size() <= s.options.max_bytes_per_message)) {
      LogRecord& r = records[at++];
      bytes += r.text.size();
      data.seqs.push_back(r.seq);
      data.generations.push_back(r.generation);
      data.times_ns.push_back(r.time_ns);
      data.lines.push_back(std::move(r.text));
    }
    s.buffered = data.lines.size();
    // (A named message: GCC 12 destroys a temporary in a co_await full-expression twice.)
    link::Message m = std::move(data);
    if (s.sink) co_await s.sink(std::move(m));
    s.buffered = 0;
  }
  co_return !s.closing;
}

asio::awaitable<void> LogPump::Serve(std::shared_ptr<Stream> s) {
  std::string error;
  bool more = false;
  std::uint64_t watch = 0;
  try {
    link::LogsOpen req = s->req;
    LogQuery q;
    q.tail = std::clamp(req.tail, 0, s->options.max_tail);
    q.since_ns = req.since_ns;
    q.until_ns = req.until_ns;
    q.before_seq = req.before_seq;
    q.generation = req.generation;
    q.filter = req.filter.substr(0, link::kMaxLogFilterBytes);
    if (req.follow) {
      // Watch before the first read: an append after it wakes the follower, none is missed.
      auto ex = s->wake.get_executor();
      std::weak_ptr<Stream> weak = s;
      watch = s->store.Watch(req.workload_id, [ex, weak] {
        asio::post(ex, [weak] {
          if (auto st = weak.lock()) {
            st->dirty = true;
            st->wake.cancel();
          }
        });
      });
    }
    auto page = s->store.Read(req.workload_id, q);
    if (!page.ok()) {
      error = "could not read the logs: " + page.error().message;
    } else {
      more = page->more;
      const std::int64_t next = page->next_seq;
      bool open = co_await SendRecords(*s, std::move(page->records));
      LogCursor cursor{next, 0, 0};
      while (open && req.follow && !s->closing) {
        if (!s->dirty) {
          s->wake.expires_at(asio::steady_timer::time_point::max());
          co_await s->wake.async_wait(kNoThrow);
          if (s->closing) break;
        }
        // Gather a little: one message per flush interval, not one per line.
        s->wake.expires_after(s->options.flush_interval);
        co_await s->wake.async_wait(kNoThrow);
        if (s->closing) break;
        s->dirty = false;
        for (;;) {
          auto recs =
              s->store.ReadAfter(req.workload_id, cursor, q, s->options.max_lines_per_message,
                                 s->options.max_bytes_per_message);
          if (!recs.ok()) {
            error = "could not read the logs: " + recs.error().message;
            open = false;
            break;
          }
          if (recs->empty()) break;
          if (!(open = co_await SendRecords(*s, std::move(*recs)))) break;
        }
        if (open && !s->store.Has(req.workload_id) &&
            !(s->pump && s->pump->known_ && s->pump->known_(req.workload_id)))
          break;  // the workload's logs were deleted with it
      }
    }
  } catch (const std::exception& e) {  // a bug: still end the stream
    spdlog::error("event=logs_crash stream={} error=\"{}\"", s->req.stream_id, e.what());
    error = "internal error while reading the logs";
  }
  if (watch != 0) s->store.Unwatch(watch);
  s->buffered = 0;
  if (!error.empty())
    spdlog::info("event=logs_end stream={} error=\"{}\"", s->req.stream_id, error);
  if (s->pump != nullptr) {
    auto& streams = s->pump->streams_;
    if (auto it = streams.find(s->req.stream_id); it != streams.end() && it->second == s)
      streams.erase(it);
  }
  if (s->sink) {
    link::Message end = link::LogsEnd{s->req.stream_id, std::move(error), more};
    co_await s->sink(std::move(end));
  }
}

}  // namespace lattice::agent
