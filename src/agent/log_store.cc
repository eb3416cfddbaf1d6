#include "agent/log_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/workload_container.h"

namespace lattice::agent {
namespace {

namespace fs = std::filesystem;

constexpr char kContainerFile[] = "container";
constexpr char kSuffix[] = ".log";
constexpr char kCutMark[] = " [line truncated]";

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

Error Sys(const std::string& what) {
  return Error::Internal(what + ": " + std::strerror(errno));
}

// Reads [0, size) of `path` (less if it is shorter now); empty if it is gone.
std::string ReadPrefix(const std::string& path, std::uint64_t size) {
  std::string out;
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return out;
  out.resize(size);
  std::size_t got = 0;
  while (got < size) {
    const ssize_t n = ::pread(fd.get(), out.data() + got, size - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  out.resize(got);
  return out;
}

Status WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Sys("write");
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return Status::Ok();
}

bool ParseInt(std::string_view s, std::int64_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

char Lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool ContainsNoCase(std::string_view hay, std::string_view needle) {
  if (needle.empty()) return true;
  if (needle.size() > hay.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    std::size_t j = 0;
    while (j < needle.size() && Lower(hay[i + j]) == Lower(needle[j])) ++j;
    if (j == needle.size()) return true;
  }
  return false;
}

void AppendRecord(std::string& out, std::int64_t seq, std::int64_t generation, std::int64_t time,
                  std::string_view text) {
  out += std::to_string(seq);
  out += '\t';
  out += std::to_string(generation);
  out += '\t';
  out += std::to_string(time);
  out += '\t';
  out += text;
  out += '\n';
}

}  // namespace

bool LogQuery::Matches(const LogRecord& r) const {
  if (since_ns != 0 && r.time_ns < since_ns) return false;
  if (until_ns != 0 && r.time_ns >= until_ns) return false;
  if (before_seq != 0 && r.seq >= before_seq) return false;
  if (generation != 0 && r.generation != generation) return false;
  return ContainsNoCase(r.text, filter);
}

bool LogStore::ParseRecord(std::string_view line, LogRecord& out) {
  std::int64_t fields[3];
  for (auto& f : fields) {
    const auto tab = line.find('\t');
    if (tab == std::string_view::npos || !ParseInt(line.substr(0, tab), f)) return false;
    line.remove_prefix(tab + 1);
  }
  out.seq = fields[0];
  out.generation = fields[1];
  out.time_ns = fields[2];
  out.text.assign(line);
  return out.seq > 0;
}

LogStore::LogStore(std::string dir, LogStoreOptions options)
    : dir_(std::move(dir)), options_([&] {
        LogStoreOptions o = options;
        o.max_bytes = std::max<std::uint64_t>(o.max_bytes, LogStoreOptions::kMinBytes);
        return o;
      }()) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) spdlog::warn("event=log_store_dir_failed dir={} error=\"{}\"", dir_, ec.message());
}

LogStore::~LogStore() = default;

std::string LogStore::WorkloadDir(const std::string& workload_id) const {
  return dir_ + "/" + workload_id;
}

std::string LogStore::SegmentPath(const std::string& workload_id, std::int64_t first_seq) const {
  char name[32];
  std::snprintf(name, sizeof name, "%016lld%s", static_cast<long long>(first_seq), kSuffix);
  return WorkloadDir(workload_id) + "/" + name;
}

std::uint64_t LogStore::SegmentLimit() const {
  return options_.max_bytes / LogStoreOptions::kSegments;
}

std::shared_ptr<LogStore::Log> LogStore::Get(const std::string& workload_id, bool create) const {
  if (!IsValidWorkloadId(workload_id)) return nullptr;
  std::lock_guard lock(mu_);
  auto it = logs_.find(workload_id);
  if (it != logs_.end() && !it->second->removed) return it->second;
  if (!create) {
    std::error_code ec;
    if (!fs::is_directory(WorkloadDir(workload_id), ec)) return nullptr;
  }
  auto log = std::make_shared<Log>();
  logs_[workload_id] = log;
  return log;
}

Status LogStore::Load(const std::string& workload_id, Log& log) const {
  if (log.loaded) return Status::Ok();
  const std::string wdir = WorkloadDir(workload_id);
  std::error_code ec;
  fs::create_directories(wdir, ec);
  if (ec) return Error::Internal("could not create " + wdir + ": " + ec.message());
  log.segments.clear();
  for (const auto& entry : fs::directory_iterator(wdir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() <= 4 || name.substr(name.size() - 4) != kSuffix) continue;
    std::int64_t first = 0;
    if (!ParseInt(std::string_view(name).substr(0, name.size() - 4), first) || first <= 0) continue;
    std::error_code sec;
    const auto size = fs::file_size(entry.path(), sec);
    log.segments.push_back({first, sec ? 0 : static_cast<std::uint64_t>(size)});
  }
  if (ec) return Error::Internal("could not list " + wdir + ": " + ec.message());
  std::sort(log.segments.begin(), log.segments.end(),
            [](const Segment& a, const Segment& b) { return a.first_seq < b.first_seq; });

  // The container being captured.
  {
    std::ifstream in(wdir + "/" + kContainerFile);
    std::int64_t generation = 0;
    std::string id;
    if (in >> generation >> id) {
      log.generation = generation;
      log.container_id = id;
    }
  }

  // The newest record: where seq goes on, and where capture resumes. A torn last record (the
  // agent died mid-write) is cut off.
  log.next_seq = log.segments.empty() ? 1 : log.segments.back().first_seq;
  for (auto seg = log.segments.rbegin(); seg != log.segments.rend(); ++seg) {
    const std::string path = SegmentPath(workload_id, seg->first_seq);
    std::string data = ReadPrefix(path, seg->size);
    const auto end = data.rfind('\n');
    const std::uint64_t whole = end == std::string::npos ? 0 : end + 1;
    if (whole != data.size()) {
      if (::truncate(path.c_str(), static_cast<off_t>(whole)) != 0)
        spdlog::warn("event=log_truncate_failed path={} error=\"{}\"", path, std::strerror(errno));
      seg->size = whole;
      data.resize(whole);
    }
    if (data.empty()) continue;
    // Walk back over the newest records: the last one, and how many share its time.
    std::string_view rest(data);
    rest.remove_suffix(1);
    LogRecord last;
    bool have_last = false;
    while (true) {
      const auto nl = rest.rfind('\n');
      const std::string_view line = nl == std::string_view::npos ? rest : rest.substr(nl + 1);
      LogRecord r;
      if (ParseRecord(line, r)) {
        if (!have_last) {
          last = r;
          have_last = true;
          log.next_seq = std::max(log.next_seq, r.seq + 1);
          log.resume = {r.generation, r.time_ns, 0};
        }
        if (r.generation != last.generation || r.time_ns != last.time_ns) break;
        ++log.resume.at_last_time;
      }
      if (nl == std::string_view::npos) break;
      rest = rest.substr(0, nl);
    }
    if (have_last) break;
  }
  if (log.generation == 0 && log.resume.generation != 0) log.generation = log.resume.generation;
  log.loaded = true;
  return Status::Ok();
}

Result<LogResume> LogStore::BeginContainer(const std::string& workload_id,
                                           const std::string& container_id) {
  if (container_id.empty() || container_id.find_first_of(" \t\n/") != std::string::npos)
    return Error::Invalid("not a container id: " + container_id.substr(0, 80));
  auto log = Get(workload_id, true);
  if (!log) return Error::Invalid("not a workload id: " + workload_id.substr(0, 80));
  std::lock_guard lock(log->mu);
  if (Status st = Load(workload_id, *log); !st.ok()) return st.error();
  if (log->container_id == container_id) {
    if (log->resume.generation == log->generation) return log->resume;
    return LogResume{log->generation, 0, 0};
  }
  const std::int64_t generation = std::max(log->generation, log->resume.generation) + 1;
  const std::string wdir = WorkloadDir(workload_id);
  const std::string tmp = wdir + "/" + kContainerFile + ".tmp";
  {
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (fd.get() < 0) return Sys("open " + tmp);
    if (Status st = WriteAll(fd.get(), std::to_string(generation) + " " + container_id + "\n");
        !st.ok())
      return st.error();
    if (::fsync(fd.get()) != 0) return Sys("fsync " + tmp);
  }
  if (::rename(tmp.c_str(), (wdir + "/" + kContainerFile).c_str()) != 0)
    return Sys("rename " + tmp);
  log->generation = generation;
  log->container_id = container_id;
  return LogResume{generation, 0, 0};
}

Status LogStore::Append(const std::string& workload_id, std::int64_t generation,
                        const std::vector<LogLine>& lines) {
  if (lines.empty()) return Status::Ok();
  auto log = Get(workload_id, true);
  if (!log) return Error::Invalid("not a workload id: " + workload_id.substr(0, 80));
  {
    std::lock_guard lock(log->mu);
    if (log->removed) return Status::Ok();
    if (Status st = Load(workload_id, *log); !st.ok()) return st;
    const std::uint64_t limit = SegmentLimit();
    // Room for the record's numbers and the mark, so one record always fits a segment.
    const std::size_t max_text =
        std::min<std::size_t>(options_.max_line_bytes, limit > 128 ? limit - 128 : 0);
    std::string pending;  // records for the last segment
    auto flush = [&]() -> Status {
      if (pending.empty()) return Status::Ok();
      Segment& seg = log->segments.back();
      const std::string path = SegmentPath(workload_id, seg.first_seq);
      Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
      if (fd.get() < 0) return Sys("open " + path);
      if (Status st = WriteAll(fd.get(), pending); !st.ok()) return st;
      seg.size += pending.size();
      pending.clear();
      return Status::Ok();
    };
    std::string record;
    for (const LogLine& line : lines) {
      std::string_view text = line.text;
      std::string cut;
      if (text.size() > max_text) {
        cut.assign(text.substr(0, max_text - std::min(max_text, sizeof kCutMark - 1)));
        cut += kCutMark;
        text = cut;
      }
      record.clear();
      AppendRecord(record, log->next_seq, generation, line.time_ns, text);
      if (log->segments.empty() ||
          (log->segments.back().size + pending.size() + record.size() > limit &&
           log->segments.back().size + pending.size() > 0)) {
        if (Status st = flush(); !st.ok()) return st;
        log->segments.push_back({log->next_seq, 0});
        while (log->segments.size() > static_cast<std::size_t>(LogStoreOptions::kSegments)) {
          const std::string old = SegmentPath(workload_id, log->segments.front().first_seq);
          if (::unlink(old.c_str()) != 0 && errno != ENOENT)
            spdlog::warn("event=log_rotate_failed path={} error=\"{}\"", old, std::strerror(errno));
          log->segments.erase(log->segments.begin());
        }
      }
      pending += record;
      if (generation != log->resume.generation || line.time_ns != log->resume.last_time_ns)
        log->resume = {generation, line.time_ns, 0};
      ++log->resume.at_last_time;
      ++log->next_seq;
    }
    if (Status st = flush(); !st.ok()) return st;
  }
  Notify(workload_id);
  return Status::Ok();
}

Status LogStore::Remove(const std::string& workload_id) {
  if (!IsValidWorkloadId(workload_id)) return Status::Ok();
  std::shared_ptr<Log> log;
  {
    std::lock_guard lock(mu_);
    if (auto it = logs_.find(workload_id); it != logs_.end()) {
      log = it->second;
      logs_.erase(it);
    }
  }
  Status result = Status::Ok();
  {
    std::unique_lock<std::mutex> lock;
    if (log) {
      lock = std::unique_lock(log->mu);
      log->removed = true;
      log->segments.clear();
    }
    std::error_code ec;
    fs::remove_all(WorkloadDir(workload_id), ec);
    if (ec) result = Error::Internal("could not remove the logs: " + ec.message());
  }
  Notify(workload_id);
  return result;
}

bool LogStore::Has(const std::string& workload_id) const {
  return Get(workload_id, false) != nullptr;
}

Result<LogPage> LogStore::Read(const std::string& workload_id, const LogQuery& q) const {
  LogPage page;
  auto log = Get(workload_id, false);
  if (!log) return page;
  std::vector<Segment> segments;
  {
    std::lock_guard lock(log->mu);
    if (Status st = Load(workload_id, *log); !st.ok()) return st.error();
    segments = log->segments;
    page.next_seq = log->next_seq;
  }
  if (q.tail <= 0) return page;
  const std::size_t want = static_cast<std::size_t>(q.tail);
  std::vector<LogRecord> newest_first;
  bool done = false;
  for (auto seg = segments.rbegin(); seg != segments.rend() && !done; ++seg) {
    if (q.before_seq != 0 && seg->first_seq >= q.before_seq) continue;
    const std::string data = ReadPrefix(SegmentPath(workload_id, seg->first_seq), seg->size);
    std::string_view rest(data);
    if (const auto end = rest.rfind('\n'); end != std::string_view::npos)
      rest = rest.substr(0, end);
    else
      continue;
    LogRecord r;
    for (;;) {
      const auto nl = rest.rfind('\n');
      const std::string_view line = nl == std::string_view::npos ? rest : rest.substr(nl + 1);
      if (ParseRecord(line, r)) {
        // Lines arrive in time order: one older than `since` ends the search.
        if (q.since_ns != 0 && r.time_ns < q.since_ns) {
          done = true;
          break;
        }
        if (q.Matches(r)) {
          if (newest_first.size() == want) {  // one more than asked for: there are older ones
            page.more = true;
            done = true;
            break;
          }
          newest_first.push_back(std::move(r));
        }
      }
      if (nl == std::string_view::npos) break;
      rest = rest.substr(0, nl);
    }
  }
  page.records.assign(std::make_move_iterator(newest_first.rbegin()),
                      std::make_move_iterator(newest_first.rend()));
  return page;
}

Result<std::vector<LogRecord>> LogStore::ReadAfter(const std::string& workload_id,
                                                   LogCursor& cursor, const LogQuery& q,
                                                   std::size_t max_records,
                                                   std::size_t max_bytes) const {
  std::vector<LogRecord> out;
  auto log = Get(workload_id, false);
  if (!log) return out;
  std::vector<Segment> segments;
  {
    std::lock_guard lock(log->mu);
    if (Status st = Load(workload_id, *log); !st.ok()) return st.error();
    segments = log->segments;
  }
  LogQuery filter = q;
  filter.tail = 0;
  filter.before_seq = 0;
  std::size_t bytes = 0;
  // The segment holding cursor.next_seq: the hinted one while it still exists, else the newest
  // that starts at or before it (or the oldest left, when rotation went past the cursor).
  auto at = std::find_if(segments.begin(), segments.end(),
                         [&](const Segment& s) { return s.first_seq == cursor.segment; });
  if (at == segments.end()) {
    cursor.offset = 0;
    at = segments.begin();
    for (auto s = segments.begin(); s != segments.end(); ++s)
      if (s->first_seq <= cursor.next_seq) at = s;
    if (at != segments.end()) cursor.segment = at->first_seq;
  }
  for (; at != segments.end(); ++at) {
    if (at->first_seq != cursor.segment) {
      cursor.segment = at->first_seq;
      cursor.offset = 0;
    }
    if (cursor.offset >= at->size) continue;
    // Read in pieces of at most 1 MiB: a follower takes what it can send.
    const std::uint64_t span = std::min<std::uint64_t>(at->size - cursor.offset, 1 << 20);
    std::string data;
    {
      Fd fd(::open(SegmentPath(workload_id, at->first_seq).c_str(), O_RDONLY | O_CLOEXEC));
      if (fd.get() < 0) continue;  // rotated away meanwhile
      data.resize(span);
      const ssize_t n = ::pread(fd.get(), data.data(), span, static_cast<off_t>(cursor.offset));
      data.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    }
    std::string_view rest(data);
    LogRecord r;
    while (!rest.empty()) {
      const auto nl = rest.find('\n');
      if (nl == std::string_view::npos) break;  // a piece's end inside a record: next call
      const std::string_view line = rest.substr(0, nl);
      rest.remove_prefix(nl + 1);
      cursor.offset += nl + 1;
      if (!ParseRecord(line, r) || r.seq < cursor.next_seq) continue;
      cursor.next_seq = r.seq + 1;
      if (!filter.Matches(r)) continue;
      bytes += r.text.size();
      out.push_back(std::move(r));
      if (out.size() >= max_records || bytes >= max_bytes) return out;
    }
    if (cursor.offset < at->size) return out;  // the rest of this segment next time
  }
  return out;
}

std::uint64_t LogStore::DiskBytes(const std::string& workload_id) const {
  auto log = Get(workload_id, false);
  if (!log) return 0;
  std::lock_guard lock(log->mu);
  if (!Load(workload_id, *log).ok()) return 0;
  std::uint64_t total = 0;
  for (const auto& s : log->segments) total += s.size;
  return total;
}

std::vector<std::string> LogStore::Workloads() const {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory(ec) && IsValidWorkloadId(name)) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::uint64_t LogStore::Watch(const std::string& workload_id, std::function<void()> fn) {
  std::lock_guard lock(mu_);
  const std::uint64_t id = next_watch_++;
  watchers_[id] = {workload_id, std::make_shared<const std::function<void()>>(std::move(fn))};
  return id;
}

void LogStore::Unwatch(std::uint64_t handle) {
  std::lock_guard lock(mu_);
  watchers_.erase(handle);
}

void LogStore::Notify(const std::string& workload_id) const {
  std::vector<std::shared_ptr<const std::function<void()>>> fns;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, w] : watchers_)
      if (w.workload_id == workload_id) fns.push_back(w.fn);
  }
  for (const auto& fn : fns) (*fn)();
}

}  // namespace lattice::agent
