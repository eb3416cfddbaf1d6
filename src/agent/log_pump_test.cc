// The node's kept logs end to end on the real Docker engine: LogCapture copying containers'
// output (with the engine's timestamps and `since`) into a LogStore, and the LogPump serving
// it: tail, chunking, bounds, follow (across a container's replacement), cancellation, limits,
// back-pressure from a link that does not drain, and an agent restart that duplicates nothing.
#include "agent/log_pump.h"
#include "common/test_env.h"

#include <gtest/gtest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <filesystem>
#include <set>

#include "agent/agent_test_util.h"
#include "agent/log_capture.h"
#include "agent/log_store.h"
#include "common/random.h"

namespace lattice::agent {
namespace {

using namespace testing;

namespace asio = boost::asio;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// Collects one stream's messages, on the test's io_context. Hold() makes it a link that does
// not drain: every logs.data waits until Release().
class StreamRecorder {
 public:
  explicit StreamRecorder(asio::io_context& ioc) : gate_(ioc) {
    gate_.expires_at(asio::steady_timer::time_point::max());
  }
  LogSink Sink() {
    return [this](link::Message m) { return Take(std::move(m)); };
  }
  void Hold() { held_ = true; }
  void Release() {
    held_ = false;
    gate_.cancel();
  }
  int waiting() const { return waiting_; }
  bool ended() const { return ended_; }
  bool HasLine(const std::string& line) const {
    for (const auto& b : batches_)
      for (const auto& l : b)
        if (l == line) return true;
    return false;
  }
  std::vector<std::int64_t> Generations() const { return generations_; }
  bool more() const { return more_; }
  std::vector<std::string> Lines() const {
    std::vector<std::string> out;
    for (const auto& b : batches_) out.insert(out.end(), b.begin(), b.end());
    return out;
  }
  std::vector<std::size_t> BatchSizes() const {
    std::vector<std::size_t> out;
    for (const auto& b : batches_) out.push_back(b.size());
    return out;
  }
  const std::string& error() const { return error_; }

 private:
  asio::awaitable<void> Take(link::Message m) {
    if (auto* d = std::get_if<link::LogsData>(&m)) {
      ++waiting_;
      while (held_) co_await gate_.async_wait(kNoThrow);
      --waiting_;
      EXPECT_FALSE(ended_) << "logs.data after logs.end";
      EXPECT_EQ(d->generations.size(), d->lines.size());
      EXPECT_EQ(d->times_ns.size(), d->lines.size());
      batches_.push_back(d->lines);
      generations_.insert(generations_.end(), d->generations.begin(), d->generations.end());
    } else if (auto* e = std::get_if<link::LogsEnd>(&m)) {
      EXPECT_FALSE(ended_) << "two logs.end";
      ended_ = true;
      error_ = e->error;
      more_ = e->more;
    }
  }

  asio::steady_timer gate_;
  bool held_ = false;
  int waiting_ = 0;
  std::vector<std::vector<std::string>> batches_;
  std::vector<std::int64_t> generations_;
  bool ended_ = false;
  bool more_ = false;
  std::string error_;
};

link::LogsOpen Req(const std::string& stream, const std::string& id, int tail, bool follow) {
  link::LogsOpen o;
  o.stream_id = stream;
  o.workload_id = id;
  o.tail = tail;
  o.follow = follow;
  return o;
}

class LogPumpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    rt_ = OpenDocker(why);
    if (!rt_) LATTICE_SKIP_UNLESS_REQUIRED() << "no Docker engine answers: " << why;
    if (!HasImage(*rt_, kBusybox)) LATTICE_SKIP_UNLESS_REQUIRED() << kBusybox << " is missing";
    prefix_ = RunPrefix();
    dir_ = (std::filesystem::temp_directory_path() / ("lattice-pump-" + RandomToken(8))).string();
    OpenStore();
  }
  void TearDown() override {
    capture_.reset();
    store_.reset();
    if (rt_) CleanUp(*rt_, prefix_, {});
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }
  // (Re)opens the node's store and capture, as an agent (re)start does.
  void OpenStore(LogStoreOptions o = {}) {
    capture_.reset();
    store_ = std::make_unique<LogStore>(dir_, o);
    capture_ = std::make_unique<LogCapture>(*rt_, *store_);
    capture_->Start();
  }
  // Runs `script` in a container named for workload `id`, as the reconciler would; returns its
  // id, and tells the capture (as the reconciler's listing does).
  std::string RunContainer(const std::string& id, const std::string& script) {
    runtime::ContainerSpec spec = ToContainerSpec(ShellWorkload(id, 1, script), prefix_ + "node");
    auto created = rt_->Create(spec);
    EXPECT_TRUE(created.ok()) << created.error().message;
    if (!created.ok()) return "";
    EXPECT_TRUE(rt_->Start(*created).ok());
    Observe(id, *created);
    return *created;
  }
  void Observe(const std::string& id, const std::string& container) {
    auto info = rt_->Inspect(container);
    ASSERT_TRUE(info.ok());
    capture_->Observe({{id, info->id, info->running, info->started_at}});
  }
  // Waits until the node keeps `line` for workload `id`.
  void WaitForKept(const std::string& id, const std::string& line) {
    LogQuery q;
    q.tail = 1;
    q.filter = line;
    for (int i = 0; i < 200; ++i) {
      auto page = store_->Read(id, q);
      if (page.ok() && !page->records.empty() && page->records.back().text == line) return;
      std::this_thread::sleep_for(milliseconds(50));
    }
    FAIL() << "the node never kept " << line;
  }
  std::vector<std::string> Kept(const std::string& id) {
    LogQuery q;
    q.tail = 100000;
    std::vector<std::string> out;
    auto page = store_->Read(id, q);
    for (auto& r : page->records) out.push_back(r.text);
    return out;
  }
  // Runs the pump's io_context on this thread until `done()` or `timeout`.
  template <typename Pred>
  bool RunUntil(Pred done, milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      ioc_.restart();
      if (ioc_.run_for(milliseconds(10)) == 0 && ioc_.stopped())
        std::this_thread::sleep_for(milliseconds(5));  // nothing to run yet
    }
    return true;
  }
  void RunFor(milliseconds d) {
    RunUntil([] { return false; }, d);
  }
  WorkloadKnown Known(std::set<std::string> ids = {}) {
    return [ids](const std::string& id) { return ids.count(id) > 0; };
  }

  asio::io_context ioc_;
  std::unique_ptr<runtime::docker::DockerRuntime> rt_;
  std::string prefix_;
  std::string dir_;
  std::unique_ptr<LogStore> store_;
  std::unique_ptr<LogCapture> capture_;
};

TEST_F(LogPumpTest, TailIsChunkedInto500LineMessages) {
  const std::string id = prefix_ + "many";
  RunContainer(id, "i=1; while [ $i -le 1200 ]; do echo l$i; i=$((i+1)); done; exec sleep 600");
  WaitForKept(id, "l1200");
  StreamRecorder all(ioc_), tail(ioc_), none(ioc_);
  LogPump pump(ioc_.get_executor(), *store_, Known());

  pump.Open(Req("s-all", id, 10000, false), all.Sink());
  ASSERT_TRUE(RunUntil([&] { return all.ended(); }, seconds(10)));
  EXPECT_EQ(all.error(), "");
  EXPECT_EQ(all.BatchSizes(), (std::vector<std::size_t>{500, 500, 200}));
  EXPECT_EQ(all.Lines().front(), "l1");
  EXPECT_EQ(all.Lines().back(), "l1200");
  EXPECT_FALSE(all.more());
  for (auto g : all.Generations()) ASSERT_EQ(g, 1);

  pump.Open(Req("s-tail", id, 2, false), tail.Sink());
  ASSERT_TRUE(RunUntil([&] { return tail.ended(); }, seconds(10)));
  EXPECT_EQ(tail.Lines(), (std::vector<std::string>{"l1199", "l1200"}));
  EXPECT_TRUE(tail.more());

  link::LogsOpen filtered = Req("s-filter", id, 10000, false);
  filtered.filter = "l119";  // l119, l1190..l1199
  pump.Open(filtered, none.Sink());
  ASSERT_TRUE(RunUntil([&] { return none.ended(); }, seconds(10)));
  EXPECT_EQ(none.Lines().size(), 11u);
  EXPECT_EQ(pump.ActiveStreams(), 0);
}

TEST_F(LogPumpTest, FollowSeesNewLinesAndStopsOnClose) {
  const std::string id = prefix_ + "ticker";
  RunContainer(id, "i=0; while true; do echo tick$i; i=$((i+1)); sleep 0.2; done");
  WaitForKept(id, "tick1");
  StreamRecorder follow(ioc_);
  LogPump pump(ioc_.get_executor(), *store_, Known());
  pump.Open(Req("s-follow", id, 1, true), follow.Sink());
  ASSERT_TRUE(RunUntil([&] { return follow.HasLine("tick3"); }, seconds(10)));
  // A line printed after the stream began arrives too, within a batch interval or so.
  auto lines = follow.Lines();
  const std::string later = "tick" + std::to_string(std::stoi(lines.back().substr(4)) + 3);
  ASSERT_TRUE(RunUntil([&] { return follow.HasLine(later); }, seconds(5))) << "never saw " << later;
  EXPECT_EQ(pump.ActiveStreams(), 1);

  const auto closed_at = std::chrono::steady_clock::now();
  pump.Close("s-follow");
  ASSERT_TRUE(RunUntil([&] { return follow.ended(); }, seconds(3)));
  EXPECT_LT(std::chrono::steady_clock::now() - closed_at, milliseconds(500));
  EXPECT_EQ(follow.error(), "");
  EXPECT_EQ(pump.ActiveStreams(), 0);
  const std::size_t n = follow.Lines().size();
  RunFor(milliseconds(400));
  EXPECT_EQ(follow.Lines().size(), n) << "nothing after logs.end";
  // Every line came once, in order.
  const auto seen = follow.Lines();
  for (std::size_t i = 1; i < seen.size(); ++i)
    ASSERT_EQ(std::stoi(seen[i].substr(4)), std::stoi(seen[i - 1].substr(4)) + 1) << i;
}

TEST_F(LogPumpTest, AFollowGoesOnAcrossAReplacementAndNothingIsLost) {
  const std::string id = prefix_ + "replaced";
  const std::string c1 = RunContainer(id,
                                      "echo first; trap 'echo last words; exit 0' TERM; "
                                      "while true; do sleep 0.1; done");
  WaitForKept(id, "first");
  StreamRecorder follow(ioc_);
  LogPump pump(ioc_.get_executor(), *store_, Known({id}));
  pump.Open(Req("s-across", id, 10, true), follow.Sink());
  ASSERT_TRUE(RunUntil([&] { return follow.HasLine("first"); }, seconds(5)));
  // What the supervisor does for a changed spec: stop, drain, remove, create anew.
  ASSERT_TRUE(rt_->Stop(c1, seconds(5)).ok());
  ASSERT_TRUE(capture_->Drain(id, c1));
  ASSERT_TRUE(rt_->Remove(c1).ok());
  RunContainer(id, "echo second; exec sleep 600");
  ASSERT_TRUE(RunUntil([&] { return follow.HasLine("second"); }, seconds(10)));
  EXPECT_EQ(follow.Lines(), (std::vector<std::string>{"first", "last words", "second"}));
  EXPECT_EQ(follow.Generations(), (std::vector<std::int64_t>{1, 1, 2}));
  EXPECT_FALSE(follow.ended());
  pump.Close("s-across");
  ASSERT_TRUE(RunUntil([&] { return follow.ended(); }, seconds(3)));
}

TEST_F(LogPumpTest, AnAgentRestartDuplicatesNothingAndMissesNothing) {
  const std::string id = prefix_ + "restart";
  const std::string c =
      RunContainer(id, "i=0; while true; do echo n$i; i=$((i+1)); sleep 0.05; done");
  WaitForKept(id, "n20");
  OpenStore();  // the agent restarts (the container printed on meanwhile)
  std::this_thread::sleep_for(milliseconds(300));
  Observe(id, c);
  const auto before = Kept(id).size();
  std::this_thread::sleep_for(milliseconds(500));
  ASSERT_TRUE(rt_->Stop(c, seconds(2)).ok());
  Observe(id, c);
  ASSERT_TRUE(capture_->Drain(id, c));
  const auto kept = Kept(id);
  ASSERT_GT(kept.size(), before);
  for (std::size_t i = 0; i < kept.size(); ++i) ASSERT_EQ(kept[i], "n" + std::to_string(i));
  auto text = rt_->Logs(c, 0);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(std::count(text->begin(), text->end(), '\n'), static_cast<long>(kept.size()));
}

TEST_F(LogPumpTest, ASlowLinkHoldsTheReadsBack) {
  const std::string id = prefix_ + "chatty";
  RunContainer(id, "seq 1 50000; exec sleep 600");
  WaitForKept(id, "50000");
  StreamRecorder slow(ioc_);
  LogPump pump(ioc_.get_executor(), *store_, Known());
  slow.Hold();
  pump.Open(Req("s-slow", id, 10000, true), slow.Sink());
  ASSERT_TRUE(RunUntil([&] { return slow.waiting() > 0; }, seconds(10)));
  // The link takes nothing: the stream holds one batch and reads no more.
  RunFor(milliseconds(300));
  const std::size_t held = pump.BufferedLines();
  EXPECT_LE(held, 500u) << "the stream kept reading while its link was full";
  EXPECT_TRUE(slow.Lines().empty());
  EXPECT_EQ(slow.waiting(), 1);

  // The link drains: every line asked for arrives, in order, none lost.
  slow.Release();
  ASSERT_TRUE(RunUntil([&] { return slow.Lines().size() >= 10000; }, seconds(20)))
      << slow.Lines().size() << " lines";
  const auto lines = slow.Lines();
  ASSERT_EQ(lines.size(), 10000u);
  for (std::size_t i = 0; i < lines.size(); ++i)
    ASSERT_EQ(lines[i], std::to_string(40001 + i)) << "at " << i;
  pump.Close("s-slow");
  ASSERT_TRUE(RunUntil([&] { return slow.ended(); }, seconds(3)));
}

TEST_F(LogPumpTest, CloseAllEndsEveryFollowAndLimitsAreEnforced) {
  const std::string id = prefix_ + "quiet";
  RunContainer(id, "echo hello; exec sleep 600");
  WaitForKept(id, "hello");
  LogPumpOptions o;
  o.max_follows = 1;
  StreamRecorder first(ioc_), second(ioc_);
  LogPump pump(ioc_.get_executor(), *store_, Known(), o);
  pump.Open(Req("s1", id, 10, true), first.Sink());
  ASSERT_TRUE(RunUntil([&] { return first.HasLine("hello"); }, seconds(5)));
  pump.Open(Req("s2", id, 10, true), second.Sink());
  ASSERT_TRUE(RunUntil([&] { return second.ended(); }, seconds(2)));
  EXPECT_NE(second.error().find("too many"), std::string::npos) << second.error();

  pump.CloseAll();
  ASSERT_TRUE(RunUntil([&] { return first.ended(); }, seconds(3)));
  EXPECT_EQ(first.error(), "");
}

TEST_F(LogPumpTest, AWorkloadWithoutLogsHereEndsWithAnErrorUnlessItIsAssigned) {
  StreamRecorder r(ioc_), bad(ioc_), waiting(ioc_);
  const std::string assigned = prefix_ + "assigned";
  LogPump pump(ioc_.get_executor(), *store_, Known({assigned}));
  pump.Open(Req("s-none", prefix_ + "nothing", 10, true), r.Sink());
  ASSERT_TRUE(RunUntil([&] { return r.ended(); }, seconds(5)));
  EXPECT_NE(r.error().find("has no container on this node"), std::string::npos) << r.error();
  EXPECT_TRUE(r.Lines().empty());
  pump.Open(Req("s-bad", "../etc", 10, false), bad.Sink());
  ASSERT_TRUE(RunUntil([&] { return bad.ended(); }, seconds(5)));
  EXPECT_NE(bad.error().find("has no container on this node"), std::string::npos) << bad.error();
  // Assigned but not started yet: a follow waits for its first lines.
  pump.Open(Req("s-wait", assigned, 10, true), waiting.Sink());
  RunFor(milliseconds(200));
  EXPECT_FALSE(waiting.ended());
  RunContainer(assigned, "echo at last; exec sleep 600");
  ASSERT_TRUE(RunUntil([&] { return waiting.HasLine("at last"); }, seconds(10)));
  pump.CloseAll();
  ASSERT_TRUE(RunUntil([&] { return waiting.ended(); }, seconds(3)));
}

}  // namespace
}  // namespace lattice::agent
