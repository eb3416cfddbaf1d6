#include "agent/readiness.h"

#include <libpq-fe.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <memory>
#include <string>

namespace lattice::agent {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using Readiness = templates::Readiness;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
// How long a TCP probe's connection must stay open to count.
constexpr std::chrono::milliseconds kSettle{300};

// Connects to the target and, when `path` is non-empty, sends GET path and checks for 2xx.
asio::awaitable<Status> TcpOrHttp(ContainerTarget target, std::string path,
                                  std::chrono::milliseconds timeout) {
  const std::string where = target.ToString();
  boost::system::error_code aec;
  const auto address = asio::ip::make_address(target.host, aec);
  if (aec) co_return Error::Unavailable("readiness target " + where + " is not an address");
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  stream.expires_after(timeout);
  auto [ec] = co_await stream.async_connect(
      tcp::endpoint(address, static_cast<unsigned short>(target.port)), kNoThrow);
  if (ec) co_return Error::Unavailable("connect to " + where + ": " + ec.message());
  if (path.empty()) {
    // Docker's userland proxy accepts on a published port even when nothing listens in the
    // container, then closes at once: a connection that stays open (or talks) is the real thing.
    stream.expires_after(std::min<std::chrono::milliseconds>(timeout, kSettle));
    char byte = 0;
    auto [rec, rn] = co_await stream.async_read_some(asio::buffer(&byte, 1), kNoThrow);
    if (rec && rec != beast::error::timeout)
      co_return Error::Unavailable("connection to " + where +
                                   " closed at once (nothing listens behind the port)");
    co_return Status::Ok();
  }

  http::request<http::empty_body> req(http::verb::get, path, 11);
  req.set(http::field::host, where);
  req.set(http::field::user_agent, "lattice-agent readiness");
  req.set(http::field::connection, "close");
  auto [wec, wn] = co_await http::async_write(stream, req, kNoThrow);
  if (wec) co_return Error::Unavailable("GET " + path + " on " + where + ": " + wec.message());
  beast::flat_buffer buf;
  http::response_parser<http::empty_body> parser;
  auto [rec, rn] = co_await http::async_read_header(stream, buf, parser, kNoThrow);
  if (rec) co_return Error::Unavailable("GET " + path + " on " + where + ": " + rec.message());
  const unsigned status = parser.get().result_int();
  if (status < 200 || status > 299)
    co_return Error::Unavailable("GET " + path + " on " + where + " answered " +
                                 std::to_string(status));
  co_return Status::Ok();
}

Status ProbeNetwork(const ContainerTarget& target, const std::string& path,
                    std::chrono::milliseconds timeout) {
  asio::io_context ioc;
  Status result = Error::Unavailable("probe did not run");
  asio::co_spawn(ioc, TcpOrHttp(target, path, timeout), [&](std::exception_ptr e, Status s) {
    result = e ? Status(Error::Internal("probe failed unexpectedly")) : std::move(s);
  });
  ioc.run();
  return result;
}

Status ProbePostgres(const Readiness& r, const ContainerTarget& target,
                     std::chrono::milliseconds timeout) {
  const std::string port_s = std::to_string(target.port);
  const long secs = std::max<long>(2, static_cast<long>((timeout.count() + 999) / 1000));
  const std::string timeout_s = std::to_string(secs);
  const char* keys[] = {"host",   "port",    "user",       "password",
                        "dbname", "sslmode", "gssencmode", "connect_timeout",
                        nullptr};
  const char* values[] = {target.host.c_str(), port_s.c_str(),     r.username.c_str(),
                          r.password.c_str(),  r.database.c_str(), "disable",
                          "disable",           timeout_s.c_str(),  nullptr};
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdbParams(keys, values, 0), &PQfinish);
  if (!conn) return Error::Internal("libpq could not allocate a connection");
  if (PQstatus(conn.get()) == CONNECTION_OK) return Status::Ok();
  std::string why = PQerrorMessage(conn.get());
  while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
  return Error::Unavailable("postgres on " + target.ToString() + ": " + why);
}

}  // namespace

Status ProbeReadiness(const Readiness& readiness, const ContainerTarget& target,
                      std::chrono::milliseconds timeout) {
  if (readiness.kind == Readiness::Kind::kRunning) return Status::Ok();
  if (!target.ok())
    return Error::Unavailable("readiness port " + std::to_string(readiness.container_port) +
                              " is not reachable (the container has no address)");
  switch (readiness.kind) {
    case Readiness::Kind::kTcp:
      return ProbeNetwork(target, "", timeout);
    case Readiness::Kind::kHttp:
      return ProbeNetwork(target, readiness.http_path.empty() ? "/" : readiness.http_path, timeout);
    case Readiness::Kind::kPostgres:
      return ProbePostgres(readiness, target, timeout);
    case Readiness::Kind::kRunning:
      break;
  }
  return Status::Ok();
}

}  // namespace lattice::agent
