// The node's kept logs: the LogStore on a temporary directory (segments, the per-workload cap,
// container generations, reopening after a restart, a torn tail, removal, queries, following),
// and the LogCapture filling it from the fake engine (resuming without duplicates, draining a
// container before its replacement, forgetting a deleted workload).
#include "agent/log_store.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "agent/fake_runtime.h"
#include "agent/log_capture.h"
#include "common/random.h"

namespace lattice::agent {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() : path_(fs::temp_directory_path() / ("lattice-logs-" + RandomToken(8))) {
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string str() const { return path_.string(); }

 private:
  fs::path path_;
};

std::vector<LogLine> Lines(int from, int to, std::int64_t t0 = 1'000'000'000) {
  std::vector<LogLine> out;
  for (int i = from; i < to; ++i) out.push_back({t0 + i * 1000, "line " + std::to_string(i)});
  return out;
}

std::vector<std::string> Texts(const std::vector<LogRecord>& records) {
  std::vector<std::string> out;
  for (const auto& r : records) out.push_back(r.text);
  return out;
}

LogQuery All() {
  LogQuery q;
  q.tail = 1'000'000;
  return q;
}

TEST(LogStore, AppendsAndReadsTheNewestLinesInOrder) {
  TempDir dir;
  LogStore store(dir.str());
  auto begun = store.BeginContainer("wl_1", "c1");
  ASSERT_TRUE(begun.ok()) << begun.error().message;
  EXPECT_EQ(begun->generation, 1);
  ASSERT_TRUE(store.Append("wl_1", 1, Lines(0, 10)).ok());
  LogQuery q;
  q.tail = 3;
  auto page = store.Read("wl_1", q);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(Texts(page->records), (std::vector<std::string>{"line 7", "line 8", "line 9"}));
  EXPECT_TRUE(page->more);
  EXPECT_EQ(page->records.front().seq, 8);
  EXPECT_EQ(page->records.front().generation, 1);
  EXPECT_EQ(page->records.front().time_ns, 1'000'000'000 + 7000);
  EXPECT_EQ(page->next_seq, 11);
  // Paging back from the first line shown.
  q.before_seq = page->records.front().seq;
  q.tail = 100;
  auto older = store.Read("wl_1", q);
  ASSERT_TRUE(older.ok());
  EXPECT_EQ(older->records.size(), 7u);
  EXPECT_FALSE(older->more);
  EXPECT_EQ(older->records.back().text, "line 6");
  // Nothing for a workload never seen; tail 0 is none but still says where a follower starts.
  EXPECT_FALSE(store.Has("wl_2"));
  EXPECT_TRUE(store.Read("wl_2", q)->records.empty());
  q = LogQuery{};
  q.tail = 0;
  EXPECT_TRUE(store.Read("wl_1", q)->records.empty());
  EXPECT_EQ(store.Read("wl_1", q)->next_seq, 11);
}

TEST(LogStore, RotationKeepsTheCapAndTheNewestLines) {
  TempDir dir;
  LogStoreOptions o;
  o.max_bytes = 256 << 10;  // segments of 64 KiB
  LogStore store(dir.str(), o);
  ASSERT_TRUE(store.BeginContainer("wl_1", "c1").ok());
  const std::string pad(200, 'x');
  for (int round = 0; round < 50; ++round) {
    std::vector<LogLine> batch;
    for (int i = 0; i < 100; ++i)
      batch.push_back({1'000'000 + round * 100 + i, std::to_string(round * 100 + i) + " " + pad});
    ASSERT_TRUE(store.Append("wl_1", 1, batch).ok());
    EXPECT_LE(store.DiskBytes("wl_1"), o.max_bytes) << "after round " << round;
  }
  // ~1 MiB written into 256 KiB: the oldest are gone, the newest kept, at least 3/4 of the cap.
  EXPECT_GE(store.DiskBytes("wl_1"), o.max_bytes * 3 / 4 - 4096);
  auto page = store.Read("wl_1", All());
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->records.back().seq, 5000);
  EXPECT_EQ(page->records.back().text.substr(0, 5), "4999 ");
  EXPECT_GT(page->records.front().seq, 1);
  for (std::size_t i = 1; i < page->records.size(); ++i)
    ASSERT_EQ(page->records[i].seq, page->records[i - 1].seq + 1);
  int segments = 0;
  for (const auto& e : fs::directory_iterator(dir.str() + "/wl_1"))
    segments += e.path().extension() == ".log";
  EXPECT_LE(segments, LogStoreOptions::kSegments);
}

TEST(LogStore, LongLinesAreCutSoOneAlwaysFits) {
  TempDir dir;
  LogStoreOptions o;
  o.max_bytes = 64 << 10;
  LogStore store(dir.str(), o);
  ASSERT_TRUE(store.Append("wl_1", 1, {{1, std::string(200'000, 'y')}, {2, "after"}}).ok());
  auto page = store.Read("wl_1", All());
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->records.size(), 2u);
  EXPECT_LT(page->records[0].text.size(), 16u << 10);
  EXPECT_NE(page->records[0].text.find("[line truncated]"), std::string::npos);
  EXPECT_LE(store.DiskBytes("wl_1"), o.max_bytes);
}

TEST(LogStore, EachNewContainerIsTheNextGenerationAndThatOutlivesARestart) {
  TempDir dir;
  {
    LogStore store(dir.str());
    EXPECT_EQ(store.BeginContainer("wl_1", "c1")->generation, 1);
    ASSERT_TRUE(store.Append("wl_1", 1, Lines(0, 3)).ok());
    EXPECT_EQ(store.BeginContainer("wl_1", "c1")->generation, 1);  // the same container
    EXPECT_EQ(store.BeginContainer("wl_1", "c2")->generation, 2);
    ASSERT_TRUE(store.Append("wl_1", 2, Lines(3, 5)).ok());
    EXPECT_EQ(store.BeginContainer("wl_1", "c3")->generation, 3);  // printed nothing yet
  }
  LogStore reopened(dir.str());
  auto again = reopened.BeginContainer("wl_1", "c3");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->generation, 3);
  EXPECT_EQ(again->last_time_ns, 0);  // c3 printed nothing: read it from its start
  EXPECT_EQ(reopened.BeginContainer("wl_1", "c4")->generation, 4);
  LogQuery q = All();
  q.generation = 2;
  EXPECT_EQ(Texts(reopened.Read("wl_1", q)->records),
            (std::vector<std::string>{"line 3", "line 4"}));
  auto all = reopened.Read("wl_1", All());
  ASSERT_EQ(all->records.size(), 5u);
  EXPECT_EQ(all->records[2].generation, 1);
  EXPECT_EQ(all->records[3].generation, 2);
}

TEST(LogStore, ReopeningResumesAfterTheNewestRecordAndCutsATornOne) {
  TempDir dir;
  {
    LogStore store(dir.str());
    ASSERT_TRUE(store.BeginContainer("wl_1", "c1").ok());
    // Two lines share the newest time: a capture resuming from it skips both.
    ASSERT_TRUE(store.Append("wl_1", 1, {{10, "a"}, {20, "b"}, {20, "c"}}).ok());
  }
  // The agent died in the middle of a write.
  {
    std::ofstream f(dir.str() + "/wl_1/0000000000000001.log", std::ios::app);
    f << "4\t1\t30\thalf a li";
  }
  LogStore store(dir.str());
  auto r = store.BeginContainer("wl_1", "c1");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->generation, 1);
  EXPECT_EQ(r->last_time_ns, 20);
  EXPECT_EQ(r->at_last_time, 2);
  ASSERT_TRUE(store.Append("wl_1", 1, {{30, "d"}}).ok());
  auto page = store.Read("wl_1", All());
  EXPECT_EQ(Texts(page->records), (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(page->records.back().seq, 4);
}

TEST(LogStore, QueriesBySinceUntilGenerationAndText) {
  TempDir dir;
  LogStore store(dir.str());
  ASSERT_TRUE(store.Append("wl_1", 1, {{100, "GET /a 200"}, {200, "GET /b 500"}}).ok());
  ASSERT_TRUE(store.Append("wl_1", 2, {{300, "POST /c 500"}, {400, "get /d 200"}}).ok());
  LogQuery q = All();
  q.since_ns = 200;
  EXPECT_EQ(store.Read("wl_1", q)->records.size(), 3u);
  q.until_ns = 400;
  EXPECT_EQ(Texts(store.Read("wl_1", q)->records),
            (std::vector<std::string>{"GET /b 500", "POST /c 500"}));
  q = All();
  q.filter = "get";  // letters without case
  EXPECT_EQ(Texts(store.Read("wl_1", q)->records),
            (std::vector<std::string>{"GET /a 200", "GET /b 500", "get /d 200"}));
  q.generation = 2;
  EXPECT_EQ(Texts(store.Read("wl_1", q)->records), (std::vector<std::string>{"get /d 200"}));
  q = All();
  q.filter = " 500";
  q.tail = 1;
  auto page = store.Read("wl_1", q);
  EXPECT_EQ(Texts(page->records), (std::vector<std::string>{"POST /c 500"}));
  EXPECT_TRUE(page->more);
}

TEST(LogStore, AFollowerReadsOnAcrossRotationAndIsWokenByAppends) {
  TempDir dir;
  LogStoreOptions o;
  o.max_bytes = 64 << 10;  // segments of 16 KiB
  LogStore store(dir.str(), o);
  int woken = 0;
  const auto handle = store.Watch("wl_1", [&] { ++woken; });
  ASSERT_TRUE(store.Append("wl_1", 1, Lines(0, 10)).ok());
  EXPECT_EQ(woken, 1);
  LogQuery tail0;
  tail0.tail = 0;
  LogCursor cursor{store.Read("wl_1", tail0)->next_seq, 0, 0};
  EXPECT_EQ(cursor.next_seq, 11);
  ASSERT_TRUE(store.Append("wl_1", 1, Lines(10, 600)).ok());  // ~8 KiB: still one segment
  std::vector<std::string> seen;
  for (;;) {
    auto recs = store.ReadAfter("wl_1", cursor, LogQuery{}, 100, 1 << 20);
    ASSERT_TRUE(recs.ok());
    if (recs->empty()) break;
    for (auto& r : *recs) seen.push_back(r.text);
  }
  ASSERT_EQ(seen.size(), 590u);
  EXPECT_EQ(seen.front(), "line 10");
  // Across a rotation, and with a filter.
  ASSERT_TRUE(store.Append("wl_1", 1, Lines(600, 2000)).ok());
  LogQuery only;
  only.filter = "line 19";
  seen.clear();
  for (;;) {
    auto recs = store.ReadAfter("wl_1", cursor, only, 100, 1 << 20);
    ASSERT_TRUE(recs.ok());
    if (recs->empty()) break;
    for (auto& r : *recs) seen.push_back(r.text);
  }
  EXPECT_EQ(seen.size(), 100u);  // 1900-1999: the follower stood past 19 and 190-199
  EXPECT_EQ(seen.back(), "line 1999");
  EXPECT_EQ(cursor.next_seq, 2001);
  store.Unwatch(handle);
  ASSERT_TRUE(store.Append("wl_1", 1, Lines(2000, 2001)).ok());
  EXPECT_EQ(woken, 3);
}

TEST(LogStore, RemoveDeletesEverythingAndTellsFollowers) {
  TempDir dir;
  LogStore store(dir.str());
  ASSERT_TRUE(store.BeginContainer("wl_1", "c1").ok());
  ASSERT_TRUE(store.Append("wl_1", 1, Lines(0, 5)).ok());
  ASSERT_TRUE(store.Append("wl_2", 1, Lines(0, 5)).ok());
  bool told = false;
  store.Watch("wl_1", [&] { told = true; });
  EXPECT_EQ(store.Workloads(), (std::vector<std::string>{"wl_1", "wl_2"}));
  ASSERT_TRUE(store.Remove("wl_1").ok());
  EXPECT_TRUE(told);
  EXPECT_FALSE(store.Has("wl_1"));
  EXPECT_FALSE(fs::exists(dir.str() + "/wl_1"));
  EXPECT_TRUE(store.Read("wl_1", All())->records.empty());
  EXPECT_EQ(store.Workloads(), (std::vector<std::string>{"wl_2"}));
  // Ids that cannot name a directory are refused.
  EXPECT_FALSE(store.Append("../x", 1, Lines(0, 1)).ok());
  EXPECT_FALSE(store.BeginContainer("wl_1", "a/b").ok());
}

// --- LogCapture on the fake engine

template <typename F>
bool WaitFor(F pred, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return pred();
}

class LogCaptureTest : public ::testing::Test {
 protected:
  std::string Create(const std::string& name) {
    runtime::ContainerSpec spec;
    spec.name = name;
    spec.image = "img";
    auto id = rt.Create(spec);
    EXPECT_TRUE(id.ok());
    return *id;
  }
  // The container as a listing sees it now.
  std::vector<ObservedContainer> Seen(const std::string& id) {
    auto c = rt.Inspect(id);
    EXPECT_TRUE(c.ok());
    return {{"wl_1", c->id, c->running, c->started_at}};
  }
  std::vector<std::string> Kept(const LogStore& store) {
    return Texts(store.Read("wl_1", All())->records);
  }

  TempDir dir;
  testing::FakeRuntime rt;
};

TEST_F(LogCaptureTest, FollowsARunningContainerAndResumesWithoutDuplicatesAfterARestart) {
  const std::string c1 = Create("lattice-wl_1");
  ASSERT_TRUE(rt.Start(c1).ok());
  rt.Print(c1, "one");
  rt.Print(c1, "two");
  {
    LogStore store(dir.str());
    LogCapture capture(rt, store);
    capture.Start();
    capture.Observe(Seen(c1));
    ASSERT_TRUE(WaitFor([&] { return Kept(store).size() == 2; }));
    rt.Print(c1, "three");
    ASSERT_TRUE(WaitFor([&] { return Kept(store).size() == 3; }));
  }  // the agent stops; the container prints on
  rt.Print(c1, "four");
  LogStore store(dir.str());
  LogCapture capture(rt, store);
  capture.Start();
  capture.Observe(Seen(c1));
  ASSERT_TRUE(WaitFor([&] { return Kept(store).size() >= 4; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(Kept(store), (std::vector<std::string>{"one", "two", "three", "four"}));
  auto page = store.Read("wl_1", All());
  for (const auto& r : page->records) EXPECT_EQ(r.generation, 1);
}

TEST_F(LogCaptureTest, LinesWithTheSameTimeAreNotLostOrRepeated) {
  const std::string c1 = Create("lattice-wl_1");
  ASSERT_TRUE(rt.Start(c1).ok());
  rt.Print(c1, "a", 5'000);
  rt.Print(c1, "b", 5'000);
  {
    LogStore store(dir.str());
    LogCapture capture(rt, store);
    capture.Start();
    capture.Observe(Seen(c1));
    ASSERT_TRUE(WaitFor([&] { return Kept(store).size() == 2; }));
  }
  rt.Print(c1, "c", 5'000);  // the same nanosecond as the newest kept ones
  LogStore store(dir.str());
  LogCapture capture(rt, store);
  capture.Start();
  capture.Observe(Seen(c1));
  ASSERT_TRUE(WaitFor([&] { return Kept(store).size() >= 3; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(Kept(store), (std::vector<std::string>{"a", "b", "c"}));
}

TEST_F(LogCaptureTest, ADrainedContainerKeepsItsLastLinesAndItsSuccessorIsTheNextGeneration) {
  LogStore store(dir.str());
  LogCapture capture(rt, store);
  capture.Start();
  const std::string c1 = Create("lattice-wl_1");
  ASSERT_TRUE(rt.Start(c1).ok());
  rt.Print(c1, "old 1");
  capture.Observe(Seen(c1));
  ASSERT_TRUE(WaitFor([&] { return Kept(store).size() == 1; }));
  // The supervisor replaces it: stop, (it printed on the way out), drain, remove.
  rt.Print(c1, "old last");
  ASSERT_TRUE(rt.Stop(c1, std::chrono::seconds(1)).ok());
  ASSERT_TRUE(capture.Drain("wl_1", c1));
  EXPECT_EQ(Kept(store), (std::vector<std::string>{"old 1", "old last"}));
  ASSERT_TRUE(rt.Remove(c1).ok());
  const std::string c2 = Create("lattice-wl_1");
  ASSERT_TRUE(rt.Start(c2).ok());
  rt.Print(c2, "new 1");
  capture.Observe(Seen(c2));
  ASSERT_TRUE(WaitFor([&] { return Kept(store).size() == 3; }));
  auto page = store.Read("wl_1", All());
  EXPECT_EQ(page->records[1].generation, 1);
  EXPECT_EQ(page->records[2].generation, 2);
  EXPECT_EQ(page->records[2].text, "new 1");
}

TEST_F(LogCaptureTest, AContainerFoundStoppedIsReadOnceAndACrashLoopKeepsEveryRun) {
  LogStore store(dir.str());
  LogCapture capture(rt, store);
  capture.Start();
  const std::string c1 = Create("lattice-wl_1");
  rt.Print(c1, "run 1");
  capture.Observe(Seen(c1));
  ASSERT_TRUE(WaitFor([&] { return Kept(store).size() == 1; }));
  for (int run = 2; run <= 4; ++run) {  // restarted by the supervisor, crashes again
    ASSERT_TRUE(rt.Start(c1).ok());
    if (run == 2) capture.Observe(Seen(c1));  // runs 3 and 4 end between two listings
    rt.Print(c1, "run " + std::to_string(run));
    ASSERT_TRUE(rt.Stop(c1, std::chrono::seconds(1)).ok());
    capture.Observe(Seen(c1));
  }
  ASSERT_TRUE(WaitFor([&] { return Kept(store).size() == 4; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(Kept(store), (std::vector<std::string>{"run 1", "run 2", "run 3", "run 4"}));
  auto page = store.Read("wl_1", All());
  for (const auto& r : page->records) EXPECT_EQ(r.generation, 1);
}

TEST_F(LogCaptureTest, ForgetDeletesTheLogsAndAStaleListingDoesNotBringThemBack) {
  LogStore store(dir.str());
  LogCapture capture(rt, store);
  capture.Start();
  const std::string c1 = Create("lattice-wl_1");
  ASSERT_TRUE(rt.Start(c1).ok());
  rt.Print(c1, "x");
  capture.Observe(Seen(c1));
  ASSERT_TRUE(WaitFor([&] { return Kept(store).size() == 1; }));
  const auto stale = Seen(c1);
  ASSERT_TRUE(rt.Remove(c1).ok());
  ASSERT_TRUE(capture.Forget("wl_1"));
  EXPECT_FALSE(store.Has("wl_1"));
  capture.Observe(stale);  // listed before the removal, delivered after
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(store.Has("wl_1"));
  EXPECT_EQ(capture.ActiveReads(), 0);
}

}  // namespace
}  // namespace lattice::agent
