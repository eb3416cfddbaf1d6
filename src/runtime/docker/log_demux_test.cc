#include "runtime/docker/log_demux.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace lattice::runtime::docker {
namespace {

std::string Frame(LogStream stream, std::string_view payload) {
  std::string f(8, '\0');
  f[0] = static_cast<char>(stream);
  auto n = static_cast<std::uint32_t>(payload.size());
  f[4] = static_cast<char>((n >> 24) & 0xff);
  f[5] = static_cast<char>((n >> 16) & 0xff);
  f[6] = static_cast<char>((n >> 8) & 0xff);
  f[7] = static_cast<char>(n & 0xff);
  return f + std::string(payload);
}

using Line = std::pair<LogStream, std::string>;

// Feeds `pieces` through a demuxer and a splitter, as EngineLogReader does.
std::vector<Line> Lines(const std::vector<std::string>& pieces) {
  std::vector<Line> out;
  LogDemuxer demux;
  LineSplitter splitter;
  auto on_line = [&](LogStream s, std::string_view l) {
    out.emplace_back(s, std::string(l));
    return true;
  };
  auto sink = [&](LogStream s, std::string_view payload) { splitter.Feed(s, payload, on_line); };
  for (const auto& p : pieces) demux.Feed(p, sink);
  demux.Finish(sink);
  splitter.Flush(on_line);
  return out;
}

const std::string kBody =
    Frame(LogStream::kStdout, "hello\nwor") + Frame(LogStream::kStderr, "oops\n") +
    Frame(LogStream::kStdout, "ld\nlast line") + Frame(LogStream::kStderr, "half an err") +
    Frame(LogStream::kStdout, "") + Frame(LogStream::kStderr, "or\n");

const std::vector<Line> kExpected = {{LogStream::kStdout, "hello"},
                                     {LogStream::kStderr, "oops"},
                                     {LogStream::kStdout, "world"},
                                     {LogStream::kStderr, "half an error"},
                                     {LogStream::kStdout, "last line"}};

TEST(LogDemuxTest, WholeBodyToText) {
  EXPECT_EQ(DemuxLogs(kBody), "hello\nworoops\nld\nlast linehalf an error\n");
}

TEST(LogDemuxTest, InterleavedStreamsKeepTheirOwnPartialLines) {
  EXPECT_EQ(Lines({kBody}), kExpected);
}

TEST(LogDemuxTest, SplitAtEveryPairOfPoints) {
  for (std::size_t i = 0; i <= kBody.size(); ++i) {
    for (std::size_t j = i; j <= kBody.size(); j += 3) {
      auto got = Lines({kBody.substr(0, i), kBody.substr(i, j - i), kBody.substr(j)});
      ASSERT_EQ(got, kExpected) << "split at " << i << " and " << j;
    }
  }
}

TEST(LogDemuxTest, ByteByByteIncludingHeaders) {
  std::vector<std::string> bytes;
  for (char c : kBody) bytes.emplace_back(1, c);
  EXPECT_EQ(Lines(bytes), kExpected);
}

TEST(LogDemuxTest, HeaderSplitAcrossReads) {
  std::string f = Frame(LogStream::kStderr, "abc\n");
  EXPECT_EQ(Lines({f.substr(0, 3), f.substr(3, 4), f.substr(7)}),
            (std::vector<Line>{{LogStream::kStderr, "abc"}}));
}

TEST(LogDemuxTest, LargeFrameSizeIsBigEndian) {
  std::string payload(70000, 'x');
  payload += '\n';
  std::string body = Frame(LogStream::kStdout, payload) + Frame(LogStream::kStdout, "next\n");
  auto got = Lines({body.substr(0, 40000), body.substr(40000)});
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].second.size(), 70000u);
  EXPECT_EQ(got[1].second, "next");
}

TEST(LogDemuxTest, RawTtyStreamPassesThrough) {
  EXPECT_EQ(DemuxLogs("plain text\r\nmore\r\n"), "plain text\r\nmore\r\n");
  auto got = Lines({"pla", "in text\r\nmo", "re\r\n"});
  EXPECT_EQ(got,
            (std::vector<Line>{{LogStream::kStdout, "plain text"}, {LogStream::kStdout, "more"}}));
  EXPECT_EQ(DemuxLogs("ab"), "ab");  // shorter than a header
}

TEST(LogDemuxTest, TruncatedHeaderIsDropped) {
  std::string body = Frame(LogStream::kStdout, "ok\n") + std::string("\x01\0\0\0\0", 5);
  EXPECT_EQ(DemuxLogs(body), "ok\n");
}

TEST(LineSplitterTest, StopsWhenTheCallbackDeclines) {
  LineSplitter s;
  std::vector<std::string> seen;
  bool more = s.Feed(LogStream::kStdout, "a\nb\nc\n", [&](LogStream, std::string_view l) {
    seen.emplace_back(l);
    return seen.size() < 2;
  });
  EXPECT_FALSE(more);
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b"}));
}

TEST(LineSplitterTest, EmptyLinesAndOverlongPartials) {
  LineSplitter s;
  std::vector<std::string> seen;
  auto on = [&](LogStream, std::string_view l) {
    seen.emplace_back(l);
    return true;
  };
  EXPECT_TRUE(s.Feed(LogStream::kStdout, "\n\r\nx", on));
  EXPECT_EQ(seen, (std::vector<std::string>{"", ""}));
  seen.clear();
  EXPECT_TRUE(s.Feed(LogStream::kStdout, std::string(LineSplitter::kMaxLine, 'y'), on));
  ASSERT_EQ(seen.size(), 1u);  // emitted once the bound is reached
  EXPECT_EQ(seen[0].size(), LineSplitter::kMaxLine + 1);
  seen.clear();
  EXPECT_TRUE(s.Flush(on));
  EXPECT_TRUE(seen.empty());
}

}  // namespace
}  // namespace lattice::runtime::docker
