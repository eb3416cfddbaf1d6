// The LogPump against the real Docker engine: tail, chunking, follow, cancellation, limits,
// back-pressure from a link that does not drain.
#include "agent/log_pump.h"
#include "common/test_env.h"

#include <gtest/gtest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "agent/agent_test_util.h"

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
      batches_.push_back(d->lines);
    } else if (auto* e = std::get_if<link::LogsEnd>(&m)) {
      EXPECT_FALSE(ended_) << "two logs.end";
      ended_ = true;
      error_ = e->error;
    }
  }

  asio::steady_timer gate_;
  bool held_ = false;
  int waiting_ = 0;
  std::vector<std::vector<std::string>> batches_;
  bool ended_ = false;
  std::string error_;
};

class LogPumpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    rt_ = OpenDocker(why);
    if (!rt_) LATTICE_SKIP_UNLESS_REQUIRED() << "no Docker engine answers: " << why;
    if (!HasImage(*rt_, kBusybox)) LATTICE_SKIP_UNLESS_REQUIRED() << kBusybox << " is missing";
    prefix_ = RunPrefix();
  }
  void TearDown() override {
    if (rt_) CleanUp(*rt_, prefix_, {});
  }
  // Runs `script` in a container named for workload `id`, as the reconciler would.
  void RunContainer(const std::string& id, const std::string& script) {
    runtime::ContainerSpec spec = ToContainerSpec(ShellWorkload(id, 1, script), prefix_ + "node");
    auto created = rt_->Create(spec);
    ASSERT_TRUE(created.ok()) << created.error().message;
    ASSERT_TRUE(rt_->Start(*created).ok());
  }
  // Waits until the container's log holds `line`.
  void WaitForLogLine(const std::string& id, const std::string& line) {
    for (int i = 0; i < 100; ++i) {
      auto text = rt_->Logs(ContainerName(id), 0);
      if (text.ok() && text->find(line + "\n") != std::string::npos) return;
      std::this_thread::sleep_for(milliseconds(100));
    }
    FAIL() << "the container never printed " << line;
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

  asio::io_context ioc_;
  std::unique_ptr<runtime::docker::DockerRuntime> rt_;
  std::string prefix_;
};

TEST_F(LogPumpTest, TailIsChunkedInto500LineMessages) {
  const std::string id = prefix_ + "many";
  RunContainer(id, "i=1; while [ $i -le 1200 ]; do echo l$i; i=$((i+1)); done; exec sleep 600");
  WaitForLogLine(id, "l1200");
  StreamRecorder all(ioc_), tail(ioc_);
  LogPump pump(ioc_.get_executor(), *rt_);

  pump.Open({"s-all", id, 0, false}, all.Sink());
  ASSERT_TRUE(RunUntil([&] { return all.ended(); }, seconds(10)));
  EXPECT_EQ(all.error(), "");
  EXPECT_EQ(all.BatchSizes(), (std::vector<std::size_t>{500, 500, 200}));
  EXPECT_EQ(all.Lines().front(), "l1");
  EXPECT_EQ(all.Lines().back(), "l1200");

  pump.Open({"s-tail", id, 2, false}, tail.Sink());
  ASSERT_TRUE(RunUntil([&] { return tail.ended(); }, seconds(10)));
  EXPECT_EQ(tail.Lines(), (std::vector<std::string>{"l1199", "l1200"}));
  EXPECT_EQ(pump.ActiveStreams(), 0);
}

TEST_F(LogPumpTest, FollowSeesNewLinesAndStopsOnClose) {
  const std::string id = prefix_ + "ticker";
  RunContainer(id, "i=0; while true; do echo tick$i; i=$((i+1)); sleep 0.2; done");
  WaitForLogLine(id, "tick1");
  StreamRecorder follow(ioc_);
  LogPump pump(ioc_.get_executor(), *rt_);
  pump.Open({"s-follow", id, 1, true}, follow.Sink());
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
}

TEST_F(LogPumpTest, FollowEndsWhenTheContainerStops) {
  const std::string id = prefix_ + "short";
  RunContainer(id, "echo one; sleep 1; echo two >&2; sleep 0.2; echo three");
  StreamRecorder follow(ioc_);
  LogPump pump(ioc_.get_executor(), *rt_);
  pump.Open({"s-short", id, 0, true}, follow.Sink());
  ASSERT_TRUE(RunUntil([&] { return follow.ended(); }, seconds(10)));
  EXPECT_EQ(follow.error(), "");
  EXPECT_EQ(follow.Lines(), (std::vector<std::string>{"one", "two", "three"}));
}

TEST_F(LogPumpTest, ASlowLinkHoldsTheEngineReadsBack) {
  const std::string id = prefix_ + "chatty";
  RunContainer(id, "seq 1 50000; exec sleep 600");
  WaitForLogLine(id, "50000");
  StreamRecorder slow(ioc_);
  LogPump pump(ioc_.get_executor(), *rt_);
  slow.Hold();
  pump.Open({"s-slow", id, 0, true}, slow.Sink());
  ASSERT_TRUE(RunUntil([&] { return slow.waiting() > 0; }, seconds(10)));
  // The link takes nothing: the stream fills its few batches, then stops reading the engine.
  RunFor(milliseconds(500));
  const std::size_t held = pump.BufferedLines();
  EXPECT_LE(held, 4u * 500) << "the stream kept reading while its link was full";
  RunFor(milliseconds(500));
  EXPECT_EQ(pump.BufferedLines(), held);
  EXPECT_TRUE(slow.Lines().empty());
  EXPECT_EQ(slow.waiting(), 1);

  // The link drains: every line arrives, in order, none lost.
  slow.Release();
  ASSERT_TRUE(RunUntil([&] { return slow.Lines().size() >= 50000; }, seconds(20)))
      << slow.Lines().size() << " lines";
  const auto lines = slow.Lines();
  ASSERT_EQ(lines.size(), 50000u);
  for (std::size_t i = 0; i < lines.size(); ++i)
    ASSERT_EQ(lines[i], std::to_string(i + 1)) << "at " << i;
  pump.Close("s-slow");
  ASSERT_TRUE(RunUntil([&] { return slow.ended(); }, seconds(3)));
}

TEST_F(LogPumpTest, CloseAllEndsEveryFollowAndLimitsAreEnforced) {
  const std::string id = prefix_ + "quiet";
  RunContainer(id, "echo hello; exec sleep 600");
  WaitForLogLine(id, "hello");
  LogPumpOptions o;
  o.max_follows = 1;
  StreamRecorder first(ioc_), second(ioc_);
  LogPump pump(ioc_.get_executor(), *rt_, o);
  pump.Open({"s1", id, 10, true}, first.Sink());
  ASSERT_TRUE(RunUntil([&] { return first.HasLine("hello"); }, seconds(5)));
  pump.Open({"s2", id, 10, true}, second.Sink());
  ASSERT_TRUE(RunUntil([&] { return second.ended(); }, seconds(2)));
  EXPECT_NE(second.error().find("too many"), std::string::npos) << second.error();

  pump.CloseAll();
  ASSERT_TRUE(RunUntil([&] { return first.ended(); }, seconds(3)));
  EXPECT_EQ(first.error(), "");
}

TEST_F(LogPumpTest, UnknownWorkloadEndsWithAnError) {
  StreamRecorder r(ioc_), bad(ioc_);
  LogPump pump(ioc_.get_executor(), *rt_);
  pump.Open({"s-none", prefix_ + "nothing", 10, true}, r.Sink());
  ASSERT_TRUE(RunUntil([&] { return r.ended(); }, seconds(5)));
  EXPECT_NE(r.error().find("has no container on this node"), std::string::npos) << r.error();
  EXPECT_TRUE(r.Lines().empty());
  pump.Open({"s-bad", "../etc", 10, false}, bad.Sink());
  ASSERT_TRUE(RunUntil([&] { return bad.ended(); }, seconds(5)));
  EXPECT_NE(bad.error().find("has no container on this node"), std::string::npos) << bad.error();
}

}  // namespace
}  // namespace lattice::agent
