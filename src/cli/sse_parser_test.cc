#include "cli/sse_parser.h"

#include <gtest/gtest.h>

#include <vector>

namespace lattice::cli {
namespace {

std::vector<SseEvent> ParseAll(const std::vector<std::string>& chunks) {
  SseParser p;
  std::vector<SseEvent> out;
  for (const auto& c : chunks)
    p.Feed(c, [&](const SseEvent& e) {
      out.push_back(e);
      return true;
    });
  return out;
}

TEST(cli_sse_parser, ParsesEventsAndIgnoresCommentsAndRetry) {
  auto ev =
      ParseAll({"retry: 2000\n\n: keep-alive\n\ndata: tick 1\n\nevent: error\ndata: gone\n\n"});
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].type, "");
  EXPECT_EQ(ev[0].data, "tick 1");
  EXPECT_EQ(ev[1].type, "error");
  EXPECT_EQ(ev[1].data, "gone");
}

TEST(cli_sse_parser, ReassemblesEventsSplitAcrossChunksAnywhere) {
  const std::string stream = "event: workload\ndata: {\"a\":1}\n\ndata: x\n\n";
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    auto ev = ParseAll({stream.substr(0, cut), stream.substr(cut)});
    ASSERT_EQ(ev.size(), 2u) << cut;
    EXPECT_EQ(ev[0].type, "workload");
    EXPECT_EQ(ev[0].data, "{\"a\":1}");
    EXPECT_EQ(ev[1].data, "x");
  }
}

TEST(cli_sse_parser, AcceptsCrlfAndCrLineEndings) {
  auto ev = ParseAll({"data: a\r\n\r\ndata: b\r\r", "data: c\r", "\n\r\n"});
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].data, "a");
  EXPECT_EQ(ev[1].data, "b");
  EXPECT_EQ(ev[2].data, "c");
}

TEST(cli_sse_parser, JoinsDataLinesAndKeepsValuesRaw) {
  // Only one space after the colon is part of the syntax; the rest is the log line.
  auto ev = ParseAll({"data:  indented\ndata:\ndata:no-space\n\n"});
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].data, " indented\n\nno-space");
}

TEST(cli_sse_parser, EmptyDataLineIsAnEmptyLogLine) {
  auto ev = ParseAll({"data: \n\n"});
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].data, "");
}

TEST(cli_sse_parser, EventWithoutDataIsNotDispatched) {
  auto ev = ParseAll({"event: ping\n\ndata: real\n\n"});
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].type, "");  // the type does not leak into the next event
  EXPECT_EQ(ev[0].data, "real");
}

TEST(cli_sse_parser, StopsWhenTheHandlerSaysSo) {
  SseParser p;
  int seen = 0;
  const bool more = p.Feed("data: 1\n\ndata: 2\n\n", [&](const SseEvent&) {
    ++seen;
    return false;
  });
  EXPECT_FALSE(more);
  EXPECT_EQ(seen, 1);
}

}  // namespace
}  // namespace lattice::cli
