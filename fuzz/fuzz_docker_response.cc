// Fuzzes what the agent parses from the Docker engine: the multiplexed log stream (fed in
// arbitrary pieces), pull/import progress messages, and inspect / info / stats JSON bodies. The
// engine is trusted less than it looks: it may be another process on that socket.
#include <boost/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "runtime/docker/engine_json.h"
#include "runtime/docker/log_demux.h"

using namespace lattice::runtime;
using namespace lattice::runtime::docker;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t cut = size ? data[0] % (size + 1) : 0;

  LogDemuxer demux;
  LineSplitter lines;
  auto sink = [&](LogStream s, std::string_view payload) {
    lines.Feed(s, payload, [](LogStream, std::string_view) { return true; });
  };
  demux.Feed(input.substr(0, cut), sink);
  demux.Feed(input.substr(cut), sink);
  demux.Finish(sink);
  lines.Flush([](LogStream, std::string_view) { return true; });

  ProgressScanner progress;
  progress.Feed(input.substr(0, cut));
  progress.Feed(input.substr(cut));
  progress.Finish();

  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(input, ec);
  if (!ec) {
    (void)ContainerInfoFromInspect(v);
    (void)EngineInfoFromInfo(v);
    (void)StatsAreLive(v);
    (void)ContainerStatsFromJson(v);
  }
  (void)SplitImageRef(input);
  return 0;
}
