// EngineLogReader, through DockerRuntime::StreamLogs, against the real Docker engine
// (testing/engine_fixture.h: which engine, which image, skipping when none answers, cleaning
// up): following to the end, a tail, a missing container, Close(); and an engine that is down.
#include "runtime/docker/log_reader.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "runtime/docker/testing/engine_fixture.h"

namespace lattice::runtime::docker {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::SecondsSince;

class LogReaderTest : public testing::EngineTest {};

// Reads `reader` to its end on `ioc`, on this thread: every line, or the first error.
Result<std::vector<std::string>> ReadToEnd(boost::asio::io_context& ioc, LogReader& reader) {
  std::optional<Result<std::vector<std::string>>> out;
  auto read = [&]() -> boost::asio::awaitable<void> {
    std::vector<std::string> all;
    for (;;) {
      auto lines = co_await reader.Next();
      if (!lines.ok()) {
        out = lines.error();
        co_return;
      }
      if (lines->empty()) break;
      all.insert(all.end(), lines->begin(), lines->end());
    }
    out = std::move(all);
  };
  boost::asio::co_spawn(ioc, read(), boost::asio::detached);
  ioc.restart();
  ioc.run_for(10s);
  if (!out) return Error::Internal("the reader did not end within 10 s");
  return std::move(*out);
}

TEST_F(LogReaderTest, StreamLogsReadsAndFollowsWithoutAThread) {
  std::string id = CreateAndStart(
      Spec("streamed", {"sh", "-c", "echo one; sleep 1; echo two >&2; sleep 0.2; echo three"}));
  ASSERT_FALSE(id.empty());
  boost::asio::io_context ioc;
  // Followed: the lines as they come, and the end when the container stops.
  auto followed = rt_->StreamLogs(ioc.get_executor(), id, 0, true);
  auto lines = ReadToEnd(ioc, *followed);
  ASSERT_TRUE(lines.ok()) << lines.error().message;
  EXPECT_EQ(*lines, (std::vector<std::string>{"one", "two", "three"}));
  // Not followed: the last lines, then the end.
  auto tail = rt_->StreamLogs(ioc.get_executor(), id, 2, false);
  lines = ReadToEnd(ioc, *tail);
  ASSERT_TRUE(lines.ok()) << lines.error().message;
  EXPECT_EQ(*lines, (std::vector<std::string>{"two", "three"}));
  // No such container: kNotFound.
  auto none = rt_->StreamLogs(ioc.get_executor(), "lattice-test-no-such-container", 0, true);
  lines = ReadToEnd(ioc, *none);
  ASSERT_FALSE(lines.ok());
  EXPECT_EQ(lines.error().code, ErrorCode::kNotFound) << lines.error().message;
}

TEST_F(LogReaderTest, StreamLogsEndsAtOnceWhenClosed) {
  std::string id = CreateAndStart(Spec("quiet", {"sh", "-c", "echo hello; exec sleep 600"}));
  ASSERT_FALSE(id.empty());
  boost::asio::io_context ioc;
  auto reader = rt_->StreamLogs(ioc.get_executor(), id, 0, true);
  std::vector<std::string> got;
  bool ended = false;
  auto read = [&]() -> boost::asio::awaitable<void> {
    for (;;) {
      auto lines = co_await reader->Next();
      if (!lines.ok() || lines->empty()) break;
      got.insert(got.end(), lines->begin(), lines->end());
    }
    ended = true;
  };
  boost::asio::co_spawn(ioc, read(), boost::asio::detached);
  const auto deadline = Clock::now() + 5s;
  while (got.empty() && Clock::now() < deadline) ioc.run_for(20ms);
  ASSERT_EQ(got, (std::vector<std::string>{"hello"}));
  const auto closed_at = Clock::now();
  reader->Close();
  while (!ended && Clock::now() < deadline) ioc.run_for(20ms);
  EXPECT_TRUE(ended);
  EXPECT_LT(SecondsSince(closed_at), 0.2);
}

TEST(LogReaderNoEngineTest, EngineDownIsUnavailableWithoutHanging) {
  auto rt = NewDockerRuntime("unix:///nonexistent/lattice/docker.sock");
  ASSERT_TRUE(rt.ok());
  const auto start = Clock::now();
  boost::asio::io_context ioc;
  auto reader = (*rt)->StreamLogs(ioc.get_executor(), "x", 1, true);
  auto lines = ReadToEnd(ioc, *reader);
  ASSERT_FALSE(lines.ok());
  EXPECT_EQ(lines.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(lines.error().message.find("is not answering"), std::string::npos)
      << lines.error().message;
  EXPECT_LT(SecondsSince(start), 2.0);
}

}  // namespace
}  // namespace lattice::runtime::docker
