// EngineLogReader: runtime::LogReader over the engine's GET /containers/{id}/logs, read with
// Asio on the caller's executor: connect to the engine's socket, send the request, then
// demultiplex the body's frames (LogDemuxer) and cut them into lines (LineSplitter) as they
// arrive. Nothing polls and no thread blocks: Close() closes the socket, which ends a read in
// progress. Connecting, sending and reading the answer's header are bounded by `timeout`; the
// body is not (a followed log lasts as long as the container runs).
//
// Not thread-safe: use it from its executor only (see runtime::LogReader).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/docker/engine_client.h"
#include "runtime/docker/log_demux.h"
#include "runtime/runtime.h"

namespace lattice::runtime::docker {

class EngineLogReader final : public LogReader {
 public:
  // `target`: the logs path and query; `what`: how errors name the read ("follow the logs of
  // \"x\"").
  EngineLogReader(boost::asio::any_io_executor executor, EngineAddress address, std::string target,
                  std::string what, std::chrono::milliseconds timeout);
  ~EngineLogReader() override;
  EngineLogReader(const EngineLogReader&) = delete;
  EngineLogReader& operator=(const EngineLogReader&) = delete;

  boost::asio::awaitable<Result<std::vector<std::string>>> Next() override;
  void Close() override;

 private:
  // What the watchdog may cut; shared so that its handler never outlives it.
  struct Connection {
    explicit Connection(const boost::asio::any_io_executor& ex) : socket(ex), resolver(ex) {}
    EngineSocket socket;
    boost::asio::ip::tcp::resolver resolver;
    bool timed_out = false;
  };

  boost::asio::awaitable<Status> Open();      // connect, send, read the answer's header
  boost::asio::awaitable<Status> ReadMore();  // one piece of the body into pending_
  static void Cut(Connection& c);
  Error Lost(const char* step, const boost::system::error_code& ec) const;

  const EngineAddress address_;
  const std::string target_;
  const std::string what_;
  const std::chrono::milliseconds timeout_;

  std::shared_ptr<Connection> conn_;
  boost::asio::steady_timer watchdog_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::response_parser<boost::beast::http::buffer_body>> parser_;
  std::array<char, 16 << 10> piece_{};
  LogDemuxer demux_;
  LineSplitter lines_;
  std::vector<std::string> pending_;
  bool opened_ = false;
  bool done_ = false;
  bool closed_ = false;
};

}  // namespace lattice::runtime::docker
