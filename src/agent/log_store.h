// LogStore: every workload's output kept on the node, so that its logs outlive its containers
// (docs/logs.md). One directory per workload under `<state_dir>/logs/<workload id>/`:
//
//   <first seq, 16 digits>.log   segments, oldest first; the last one is appended to
//   container                    "<generation> <container id>": the container being captured
//
// A segment holds records, one a line: "<seq>\t<generation>\t<time ns>\t<text>\n". `seq` counts
// the workload's records from 1 and never repeats (a reader's cursor); `generation` is the
// container generation, which goes up by one each time the workload gets a new container
// (re-created, replaced); `time` is the engine's timestamp of the line (ns since the epoch).
//
// Bounded: a workload's segments together never exceed `max_bytes`. Each segment takes at most a
// quarter of it; when the last one is full a new one starts and the oldest beyond four is
// deleted (so at least three quarters of the budget is always the newest lines). A line longer
// than `max_line_bytes` is cut and marked.
//
// Crash safety: records are appended with write(2) (no fsync: a lost tail is read again from the
// engine, see log_capture.h); a torn last record is cut off when the workload's log is opened.
// The `container` file is replaced atomically (write, fsync, rename).
//
// Threading: thread-safe. Appends to one workload come from one thread at a time (the capture);
// reads may run on any thread at once with them: a reader sees whole records only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace lattice::agent {

struct LogStoreOptions {
  std::uint64_t max_bytes = 16 << 20;                   // per workload, all its segments together
  std::size_t max_line_bytes = 64 << 10;                // longer lines are cut
  static constexpr int kSegments = 4;                   // the budget is split in this many
  static constexpr std::uint64_t kMinBytes = 64 << 10;  // smaller budgets are raised to this
};

struct LogRecord {
  std::int64_t seq = 0;
  std::int64_t generation = 0;
  std::int64_t time_ns = 0;
  std::string text;
};

// A line to append: the engine's timestamp and its text (without '\n').
struct LogLine {
  std::int64_t time_ns = 0;
  std::string text;
};

// Which records a read returns. Every bound is optional (0 / empty: none).
struct LogQuery {
  int tail = 100;               // at most this many: the newest that match; 0: none
  std::int64_t since_ns = 0;    // time >= since
  std::int64_t until_ns = 0;    // time < until
  std::int64_t before_seq = 0;  // seq < before (paging back)
  std::int64_t generation = 0;  // this container generation only
  std::string filter;           // contains this text (ASCII letters compare without case)
  // Whether `r` passes every bound but `tail`.
  bool Matches(const LogRecord& r) const;
};

struct LogPage {
  std::vector<LogRecord> records;  // oldest first
  bool more = false;               // older records match too (ask with before = the first seq)
  std::int64_t next_seq = 1;       // the seq the next record will get: where a follower starts
};

// Where a follower stands: the next seq it wants, and (a hint) where that record starts.
struct LogCursor {
  std::int64_t next_seq = 1;
  std::int64_t segment = 0;  // first seq of the segment `offset` is in; 0: find it
  std::uint64_t offset = 0;
};

// The container a workload's new lines come from, and how far its log was captured.
struct LogResume {
  std::int64_t generation = 0;
  std::int64_t last_time_ns = 0;  // time of the newest record of this container; 0: none yet
  int at_last_time = 0;           // how many of its newest records have exactly that time
};

class LogStore {
 public:
  // `dir` is created if missing. Nothing is read until a workload is touched.
  LogStore(std::string dir, LogStoreOptions options = {});
  ~LogStore();
  LogStore(const LogStore&) = delete;
  LogStore& operator=(const LogStore&) = delete;

  const LogStoreOptions& options() const { return options_; }
  const std::string& dir() const { return dir_; }

  // --- the capture's side

  // Makes `container_id` the workload's current container. The one recorded already: its
  // generation and resume point. Another: the next generation (recorded before this returns),
  // nothing captured yet. kInvalidArgument for an id that cannot name a directory.
  Result<LogResume> BeginContainer(const std::string& workload_id, const std::string& container_id);
  // Appends `lines` as records of `generation`, rotating as the budget requires.
  Status Append(const std::string& workload_id, std::int64_t generation,
                const std::vector<LogLine>& lines);
  // Deletes the workload's logs (the workload was deleted). Followers are told (Watch).
  Status Remove(const std::string& workload_id);

  // --- the readers' side

  // Whether anything is kept for the workload (a directory exists).
  bool Has(const std::string& workload_id) const;
  // The newest `q.tail` records that match `q`.
  Result<LogPage> Read(const std::string& workload_id, const LogQuery& q) const;
  // Records from `cursor` on that match `q` (its tail and before are ignored), at most
  // `max_records` and about `max_bytes` of text; advances `cursor` past every record it looked
  // at. Records rotated away before a slow reader got to them are skipped.
  Result<std::vector<LogRecord>> ReadAfter(const std::string& workload_id, LogCursor& cursor,
                                           const LogQuery& q, std::size_t max_records,
                                           std::size_t max_bytes) const;
  // Bytes the workload's segments take on disk now.
  std::uint64_t DiskBytes(const std::string& workload_id) const;
  // Workload ids with a directory.
  std::vector<std::string> Workloads() const;

  // Calls `fn` (on the appending thread, with no lock held) after every Append to the workload
  // and after its Remove. Returns a handle for Unwatch. `fn` must be cheap and must not call
  // back into the store's Watch/Unwatch.
  std::uint64_t Watch(const std::string& workload_id, std::function<void()> fn);
  void Unwatch(std::uint64_t handle);

  // Parses one record line (without '\n'); false if malformed.
  static bool ParseRecord(std::string_view line, LogRecord& out);

 private:
  struct Segment {
    std::int64_t first_seq = 0;
    std::uint64_t size = 0;
  };
  struct Log {
    std::mutex mu;  // guards everything below
    bool loaded = false;
    bool removed = false;
    std::vector<Segment> segments;  // oldest first
    std::int64_t next_seq = 1;
    std::int64_t generation = 0;  // of the current container (the `container` file)
    std::string container_id;
    LogResume resume;  // of the newest record (its generation's)
  };

  std::shared_ptr<Log> Get(const std::string& workload_id, bool create) const;
  Status Load(const std::string& workload_id, Log& log) const;  // log.mu held
  std::string WorkloadDir(const std::string& workload_id) const;
  std::string SegmentPath(const std::string& workload_id, std::int64_t first_seq) const;
  std::uint64_t SegmentLimit() const;
  void Notify(const std::string& workload_id) const;

  const std::string dir_;
  const LogStoreOptions options_;

  mutable std::mutex mu_;  // guards logs_ and watchers_
  mutable std::map<std::string, std::shared_ptr<Log>> logs_;
  struct Watcher {
    std::string workload_id;
    std::shared_ptr<const std::function<void()>> fn;
  };
  std::map<std::uint64_t, Watcher> watchers_;
  std::uint64_t next_watch_ = 1;
};

}  // namespace lattice::agent
