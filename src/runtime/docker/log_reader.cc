#include "runtime/docker/log_reader.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <utility>

namespace lattice::runtime::docker {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::uint64_t kMaxErrorBody = 64 << 10;

EngineLogReader::EngineLogReader(asio::any_io_executor executor, EngineAddress address,
                                 std::string target, std::string what,
                                 std::chrono::milliseconds timeout)
    : address_(std::move(address)),
      target_(std::move(target)),
      what_(std::move(what)),
      timeout_(timeout),
      conn_(std::make_shared<Connection>(executor)),
      watchdog_(executor) {}

EngineLogReader::~EngineLogReader() {
  Close();
}

void EngineLogReader::Close() {
  closed_ = true;
  watchdog_.cancel();
  Cut(*conn_);
}

void EngineLogReader::Cut(Connection& c) {
  boost::system::error_code ignored;
  c.socket.close(ignored);
  c.resolver.cancel();
}

Error EngineLogReader::Lost(const char* step, const boost::system::error_code& ec) const {
  if (conn_->timed_out)
    return Error::Unavailable("the Docker engine at " + address_.url + " did not answer within " +
                              std::to_string(timeout_.count()) + " ms (" + what_ + ")");
  return Error::Unavailable("the Docker engine at " + address_.url + " failed while " + step +
                            " (" + what_ + "): " + ec.message());
}

asio::awaitable<Result<std::vector<std::string>>> EngineLogReader::Next() {
  if (!opened_) {
    opened_ = true;
    Status st = co_await Open();
    if (!st.ok()) {
      done_ = true;
      if (closed_) co_return std::vector<std::string>{};
      co_return st.error();
    }
  }
  while (pending_.empty() && !done_ && !closed_) {
    Status st = co_await ReadMore();
    if (!st.ok()) {
      done_ = true;
      if (closed_) break;
      co_return st.error();
    }
  }
  if (closed_) co_return std::vector<std::string>{};
  co_return std::exchange(pending_, {});
}

asio::awaitable<Status> EngineLogReader::Open() {
  watchdog_.expires_after(timeout_);
  watchdog_.async_wait([weak = std::weak_ptr<Connection>(conn_)](auto ec) {
    if (ec) return;
    if (auto c = weak.lock()) {
      c->timed_out = true;
      Cut(*c);
    }
  });
  struct Disarm {
    asio::steady_timer& t;
    ~Disarm() { t.cancel(); }
  } disarm{watchdog_};

  if (Status st = co_await AsyncConnect(address_, conn_->socket, conn_->resolver); !st.ok())
    co_return conn_->timed_out ? Lost("connecting", {}) : st;
  EngineRequest get;
  get.target = target_;
  auto req = ToHttpRequest(get);
  if (auto [ec, n] = co_await bhttp::async_write(conn_->socket, req, kTuple); ec)
    co_return Lost("sending the request", ec);
  parser_.emplace();
  parser_->body_limit(boost::none);
  if (auto [ec, n] = co_await bhttp::async_read_header(conn_->socket, buffer_, *parser_, kTuple);
      ec)
    co_return Lost("reading the answer", ec);
  const int status = static_cast<int>(parser_->get().result_int());
  if (status / 100 == 2) co_return Status::Ok();

  bhttp::response_parser<bhttp::string_body> whole{std::move(*parser_)};
  whole.body_limit(kMaxErrorBody);
  if (!whole.is_done()) {
    if (auto [ec, n] = co_await bhttp::async_read(conn_->socket, buffer_, whole, kTuple); ec)
      co_return Lost("reading the answer", ec);
  }
  co_return ErrorFromResponse(EngineResponse{status, std::move(whole.get().body()), false}, what_);
}

asio::awaitable<Status> EngineLogReader::ReadMore() {
  auto& body = parser_->get().body();
  body.data = piece_.data();
  body.size = piece_.size();
  auto [ec, n] = co_await bhttp::async_read_some(conn_->socket, buffer_, *parser_, kTuple);
  if (ec == bhttp::error::need_buffer) ec = {};
  if (ec) co_return Lost("streaming the answer", ec);
  const std::size_t got = piece_.size() - parser_->get().body().size;
  const LineSplitter::LineFn keep = [this](LogStream, std::string_view line) {
    pending_.emplace_back(line);
    return true;
  };
  const LogDemuxer::Sink split = [&](LogStream stream, std::string_view payload) {
    lines_.Feed(stream, payload, keep);
  };
  demux_.Feed(std::string_view(piece_.data(), got), split);
  if (parser_->is_done()) {
    demux_.Finish(split);
    lines_.Flush(keep);
    done_ = true;
  }
  co_return Status::Ok();
}

}  // namespace lattice::runtime::docker
