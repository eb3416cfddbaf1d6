// The LogPump against the real Docker engine: tail, chunking, follow, cancellation, limits.
#include "agent/log_pump.h"
#include "common/test_env.h"

#include <gtest/gtest.h>

#include "agent/agent_test_util.h"

namespace lattice::agent {
namespace {

using namespace testing;

// Collects one stream's messages.
class StreamRecorder {
 public:
  LogSink Sink() {
    return [this](link::Message m) {
      std::lock_guard lock(mu_);
      if (auto* d = std::get_if<link::LogsData>(&m)) {
        EXPECT_FALSE(ended_) << "logs.data after logs.end";
        batches_.push_back(d->lines);
      } else if (auto* e = std::get_if<link::LogsEnd>(&m)) {
        EXPECT_FALSE(ended_) << "two logs.end";
        ended_ = true;
        error_ = e->error;
      }
      cv_.notify_all();
    };
  }
  bool WaitEnd(milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return ended_; });
  }
  bool WaitLine(const std::string& line, milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] {
      for (const auto& b : batches_)
        for (const auto& l : b)
          if (l == line) return true;
      return false;
    });
  }
  std::vector<std::string> Lines() {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const auto& b : batches_) out.insert(out.end(), b.begin(), b.end());
    return out;
  }
  std::vector<std::size_t> BatchSizes() {
    std::lock_guard lock(mu_);
    std::vector<std::size_t> out;
    for (const auto& b : batches_) out.push_back(b.size());
    return out;
  }
  std::string error() {
    std::lock_guard lock(mu_);
    return error_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
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

  std::unique_ptr<runtime::docker::DockerRuntime> rt_;
  std::string prefix_;
};

TEST_F(LogPumpTest, TailIsChunkedInto500LineMessages) {
  const std::string id = prefix_ + "many";
  RunContainer(id, "i=1; while [ $i -le 1200 ]; do echo l$i; i=$((i+1)); done; exec sleep 600");
  WaitForLogLine(id, "l1200");
  LogPump pump(*rt_);

  StreamRecorder all;
  pump.Open({"s-all", id, 0, false}, all.Sink());
  ASSERT_TRUE(all.WaitEnd(seconds(10)));
  EXPECT_EQ(all.error(), "");
  EXPECT_EQ(all.BatchSizes(), (std::vector<std::size_t>{500, 500, 200}));
  EXPECT_EQ(all.Lines().front(), "l1");
  EXPECT_EQ(all.Lines().back(), "l1200");

  StreamRecorder tail;
  pump.Open({"s-tail", id, 2, false}, tail.Sink());
  ASSERT_TRUE(tail.WaitEnd(seconds(10)));
  EXPECT_EQ(tail.Lines(), (std::vector<std::string>{"l1199", "l1200"}));
}

TEST_F(LogPumpTest, FollowSeesNewLinesAndStopsOnClose) {
  const std::string id = prefix_ + "ticker";
  RunContainer(id, "i=0; while true; do echo tick$i; i=$((i+1)); sleep 0.2; done");
  WaitForLogLine(id, "tick1");
  LogPump pump(*rt_);
  StreamRecorder follow;
  pump.Open({"s-follow", id, 1, true}, follow.Sink());
  ASSERT_TRUE(follow.WaitLine("tick3", seconds(10)));
  // A line printed after the stream began arrives too, within a batch interval or so.
  auto lines = follow.Lines();
  const std::string later = "tick" + std::to_string(std::stoi(lines.back().substr(4)) + 3);
  ASSERT_TRUE(follow.WaitLine(later, seconds(5))) << "never saw " << later;
  EXPECT_EQ(pump.ActiveStreams(), 1);

  const auto closed_at = std::chrono::steady_clock::now();
  pump.Close("s-follow");
  ASSERT_TRUE(follow.WaitEnd(seconds(3)));
  EXPECT_LT(std::chrono::steady_clock::now() - closed_at, seconds(2));
  EXPECT_EQ(follow.error(), "");
  const std::size_t n = follow.Lines().size();
  std::this_thread::sleep_for(milliseconds(400));
  EXPECT_EQ(follow.Lines().size(), n) << "nothing after logs.end";
}

TEST_F(LogPumpTest, CloseAllEndsEveryFollowAndLimitsAreEnforced) {
  const std::string id = prefix_ + "quiet";
  RunContainer(id, "echo hello; exec sleep 600");
  WaitForLogLine(id, "hello");
  LogPumpOptions o;
  o.max_follows = 1;
  LogPump pump(*rt_, o);
  StreamRecorder first, second;
  pump.Open({"s1", id, 10, true}, first.Sink());
  ASSERT_TRUE(first.WaitLine("hello", seconds(5)));
  pump.Open({"s2", id, 10, true}, second.Sink());
  ASSERT_TRUE(second.WaitEnd(seconds(2)));
  EXPECT_NE(second.error().find("too many"), std::string::npos) << second.error();

  pump.CloseAll();
  ASSERT_TRUE(first.WaitEnd(seconds(3)));
  EXPECT_EQ(first.error(), "");
}

TEST_F(LogPumpTest, UnknownWorkloadEndsWithAnError) {
  LogPump pump(*rt_);
  StreamRecorder r;
  pump.Open({"s-none", prefix_ + "nothing", 10, true}, r.Sink());
  ASSERT_TRUE(r.WaitEnd(seconds(5)));
  EXPECT_NE(r.error().find("has no container on this node"), std::string::npos) << r.error();
  EXPECT_TRUE(r.Lines().empty());
}

}  // namespace
}  // namespace lattice::agent
