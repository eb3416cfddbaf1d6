#include "agent/log_pump.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <utility>
#include <vector>

#include "agent/workload_container.h"

namespace lattice::agent {

struct LogPump::Stream {
  std::string id;
  bool follow = false;
  LogSink sink;
  std::atomic<bool> cancel{false};
  std::atomic<bool> finished{false};  // the thread is done and may be joined
  std::thread thread;

  std::mutex mu;  // guards the batch and `ended`; held while calling the sink
  std::vector<std::string> batch;
  std::size_t batch_bytes = 0;
  bool ended = false;
};

LogPump::LogPump(runtime::Runtime& runtime, LogPumpOptions options)
    : runtime_(runtime), options_(options) {
  flusher_ = std::thread([this] { FlushLoop(); });
}

LogPump::~LogPump() {
  std::map<std::string, std::shared_ptr<Stream>> all;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    for (auto& [id, s] : streams_) s->cancel = true;
    all.swap(streams_);
  }
  wake_.notify_all();
  flusher_.join();
  for (auto& [id, s] : all)
    if (s->thread.joinable()) s->thread.join();
}

void LogPump::Open(const link::LogsOpen& req, LogSink sink) {
  Reap();
  std::string refusal;
  {
    std::lock_guard lock(mu_);
    if (streams_.count(req.stream_id)) {
      spdlog::warn("event=logs_duplicate stream={}", req.stream_id);
      return;
    }
    int follows = 0, oneshots = 0;
    for (const auto& [id, s] : streams_) (s->follow ? follows : oneshots)++;
    if (stopping_) {
      refusal = "the agent is shutting down";
    } else if (req.follow && follows >= options_.max_follows) {
      refusal = "too many log streams are being followed on this node (" +
                std::to_string(options_.max_follows) + "); try again later";
    } else if (!req.follow && oneshots >= options_.max_oneshots) {
      refusal = "too many log reads are running on this node; try again later";
    } else {
      auto s = std::make_shared<Stream>();
      s->id = req.stream_id;
      s->follow = req.follow;
      s->sink = std::move(sink);
      Stream* raw = s.get();
      streams_[req.stream_id] = s;
      raw->thread = std::thread([this, raw, req] { Serve(*raw, req); });
      return;
    }
  }
  if (sink) sink(link::LogsEnd{req.stream_id, refusal});
}

void LogPump::Close(const std::string& stream_id) {
  std::lock_guard lock(mu_);
  if (auto it = streams_.find(stream_id); it != streams_.end()) it->second->cancel = true;
}

void LogPump::CloseAll() {
  std::lock_guard lock(mu_);
  for (auto& [id, s] : streams_) s->cancel = true;
}

int LogPump::ActiveStreams() const {
  std::lock_guard lock(mu_);
  int n = 0;
  for (const auto& [id, s] : streams_) n += s->finished ? 0 : 1;
  return n;
}

void LogPump::Serve(Stream& s, link::LogsOpen req) {
  try {
    if (!IsValidWorkloadId(req.workload_id)) {
      End(s, "workload " + req.workload_id.substr(0, 64) + " has no container on this node");
    } else if (auto info = runtime_.Inspect(ContainerName(req.workload_id)); !info.ok()) {
      End(s, info.error().code == ErrorCode::kNotFound
                 ? "workload " + req.workload_id + " has no container on this node"
                 : "could not read the logs: " + info.error().message);
    } else {
      const int tail = req.tail > 0 ? req.tail : 0;
      if (req.follow)
        ServeFollow(s, info->id, tail);
      else
        ServeOnce(s, info->id, tail);
    }
  } catch (const std::exception& e) {  // a bug: still end the stream
    spdlog::error("event=logs_crash stream={} error=\"{}\"", s.id, e.what());
    End(s, "internal error while reading the logs");
  }
  s.finished = true;
  wake_.notify_all();
}

void LogPump::ServeOnce(Stream& s, const std::string& container, int tail) {
  auto text = runtime_.Logs(container, tail);
  if (!text.ok()) return End(s, "could not read the logs: " + text.error().message);
  std::string_view rest = *text;
  while (!rest.empty() && !s.cancel) {
    const auto nl = rest.find('\n');
    AddLine(s, rest.substr(0, nl));
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
  }
  End(s, "");
}

void LogPump::ServeFollow(Stream& s, const std::string& container, int tail) {
  Status st = runtime_.FollowLogs(
      container, tail,
      [&](std::string_view line) {
        if (s.cancel) return false;
        AddLine(s, line);
        return !s.cancel.load();
      },
      s.cancel);
  End(s, st.ok() || s.cancel ? "" : "the log stream broke: " + st.error().message);
}

void LogPump::AddLine(Stream& s, std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  std::string text(line.substr(0, options_.max_line_bytes));
  if (line.size() > options_.max_line_bytes) text += " [line truncated]";
  std::lock_guard lock(s.mu);
  s.batch_bytes += text.size();
  s.batch.push_back(std::move(text));
  if (s.batch.size() >= options_.max_lines_per_message ||
      s.batch_bytes >= options_.max_bytes_per_message)
    Flush(s);
}

void LogPump::Flush(Stream& s) {
  if (s.ended || s.batch.empty()) return;
  link::LogsData data{s.id, std::move(s.batch)};
  s.batch.clear();
  s.batch_bytes = 0;
  if (s.sink) s.sink(std::move(data));
}

void LogPump::End(Stream& s, std::string error) {
  std::lock_guard lock(s.mu);
  if (s.ended) return;
  Flush(s);
  s.ended = true;
  if (!error.empty()) spdlog::info("event=logs_end stream={} error=\"{}\"", s.id, error);
  if (s.sink) s.sink(link::LogsEnd{s.id, std::move(error)});
}

void LogPump::FlushLoop() {
  for (;;) {
    std::vector<std::shared_ptr<Stream>> follows;
    {
      std::unique_lock lock(mu_);
      wake_.wait_for(lock, options_.flush_interval, [&] { return stopping_; });
      if (stopping_) return;
      for (const auto& [id, s] : streams_)
        if (s->follow && !s->finished) follows.push_back(s);
    }
    for (const auto& s : follows) {
      std::lock_guard lock(s->mu);
      Flush(*s);
    }
    Reap();
  }
}

void LogPump::Reap() {
  std::vector<std::shared_ptr<Stream>> done;
  {
    std::lock_guard lock(mu_);
    for (auto it = streams_.begin(); it != streams_.end();) {
      if (it->second->finished) {
        done.push_back(std::move(it->second));
        it = streams_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& s : done)
    if (s->thread.joinable()) s->thread.join();
}

}  // namespace lattice::agent
