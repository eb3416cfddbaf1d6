#include "edge/edge.h"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <thread>

#include "common/random.h"
#include "tunnel/handshake.h"
#include "tunnel/relay.h"

namespace lattice::edge {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;
using namespace asio::experimental::awaitable_operators;
namespace {
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

asio::awaitable<void> Sleep(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor);
  t.expires_after(d);
  co_await t.async_wait(kNoThrow);
}

// Reads from `conn` until `buf` holds a whole handshake line; its length, or why not.
asio::awaitable<Result<std::size_t>> ReadHandshakeLine(tunnel::TlsSocket& conn, std::string& buf) {
  for (;;) {
    auto len = tunnel::HandshakeLength(buf);
    if (!len.ok()) co_return std::move(len).error();
    if (*len > 0) co_return *len;
    if (error_code ec = co_await conn.WaitReadable())
      co_return Error::Unavailable("data connection: " + ec.message());
    char chunk[tunnel::kMaxHandshakeBytes];
    error_code ec;
    const std::size_t n = conn.TryRead(chunk, sizeof chunk, ec);
    if (ec && ec != asio::error::would_block)
      co_return Error::Unavailable("data connection: " + ec.message());
    buf.append(chunk, n);
  }
}

}  // namespace

struct Edge::Listener {
  explicit Listener(asio::io_context& ioc) : strand(asio::make_strand(ioc)), acceptor(strand) {}
  asio::strand<asio::io_context::executor_type> strand;
  tcp::acceptor acceptor;
  control::PublicRoute route;  // guarded by Edge::mu_
  bool bound = false;          // guarded by Edge::mu_
};

struct Edge::Pending {
  explicit Pending(asio::any_io_executor ex) : executor(ex), wake(ex) {}
  asio::any_io_executor executor;  // the client's strand; `data`/`leftover` are set on it
  asio::steady_timer wake;         // cancelled when the data connection arrives or fails
  std::string node_id;
  std::string secret;
  std::unique_ptr<tunnel::TlsSocket> data;
  std::string leftover;  // payload that arrived with the handshake line
};

struct Edge::RelayThread {
  RelayThread() : thread([this] { ctx.run(); }) {}
  void Stop() {
    guard.reset();
    ctx.stop();
    if (thread.joinable()) thread.join();
  }
  asio::io_context ctx{1};  // one thread runs it: its executor serialises each stream
  asio::executor_work_guard<asio::io_context::executor_type> guard{ctx.get_executor()};
  std::thread thread;  // last: starts once the context exists
};

Edge::Edge(asio::io_context& ioc, EdgeOptions opts, OpenFn open)
    : ioc_(ioc),
      opts_(std::move(opts)),
      open_(std::move(open)),
      admission_({opts_.max_streams_per_workload, opts_.max_streams_per_source_per_workload,
                  opts_.max_streams_per_source}) {
  for (int i = 0; i < opts_.relay_threads; ++i)
    relay_threads_.push_back(std::make_unique<RelayThread>());
  asio::co_spawn(ioc_, RebindLoop(), asio::detached);
}

asio::any_io_executor Edge::ClientExecutor() {
  if (relay_threads_.empty()) return asio::make_strand(ioc_);
  const std::size_t i = next_relay_thread_.fetch_add(1) % relay_threads_.size();
  return relay_threads_[i]->ctx.get_executor();
}

Edge::~Edge() {
  Stop();
}

void Edge::SetRoutes(const std::vector<control::PublicRoute>& routes) {
  std::map<std::string, std::vector<control::PublicRoute>> by_workload;
  for (const auto& r : routes) by_workload[r.workload_id].push_back(r);
  std::vector<std::string> gone;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, ports] : ports_by_workload_)
      if (!by_workload.count(id)) gone.push_back(id);
  }
  for (const auto& id : gone) UpdateWorkload(id, {});
  for (auto& [id, rs] : by_workload) UpdateWorkload(id, std::move(rs));
}

void Edge::UpdateWorkload(const std::string& workload_id,
                          std::vector<control::PublicRoute> routes) {
  std::lock_guard lock(mu_);
  if (stopped_) return;
  std::vector<int>& ports = ports_by_workload_[workload_id];
  for (int port : ports) {
    const bool kept = std::any_of(routes.begin(), routes.end(),
                                  [&](const auto& r) { return r.public_port == port; });
    if (!kept) CloseListener(port);
  }
  ports.clear();
  for (const auto& r : routes) {
    ports.push_back(r.public_port);
    Apply(r);
  }
  if (ports.empty()) ports_by_workload_.erase(workload_id);
}

void Edge::Apply(const control::PublicRoute& route) {
  auto it = listeners_.find(route.public_port);
  if (!route.open) {
    if (it != listeners_.end()) CloseListener(route.public_port);
    return;
  }
  if (it != listeners_.end()) {
    it->second->route = route;  // e.g. placed on another node: new clients go there
    return;
  }
  auto l = std::make_shared<Listener>(ioc_);
  l->route = route;
  listeners_[route.public_port] = l;
  StartListener(l);
}

void Edge::StartListener(const std::shared_ptr<Listener>& l) {
  error_code ec;
  const auto addr = asio::ip::make_address(opts_.bind_address, ec);
  if (ec) {
    spdlog::error("msg=\"bad --public-bind\" address=\"{}\"", opts_.bind_address);
    return;
  }
  const tcp::endpoint ep(addr, static_cast<unsigned short>(l->route.public_port));
  l->acceptor.open(ep.protocol(), ec);
  if (!ec) l->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) l->acceptor.bind(ep, ec);
  if (!ec) l->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    error_code ignored;
    l->acceptor.close(ignored);
    spdlog::warn("msg=\"cannot listen on public port; will retry\" port={} error=\"{}\"",
                 l->route.public_port, ec.message());
    return;
  }
  l->bound = true;
  asio::co_spawn(l->strand, AcceptLoop(l), asio::detached);
}

void Edge::CloseListener(int port) {
  auto it = listeners_.find(port);
  if (it == listeners_.end()) return;
  std::shared_ptr<Listener> l = it->second;
  listeners_.erase(it);
  asio::post(l->strand, [l] {
    error_code ec;
    l->acceptor.close(ec);
  });
}

asio::awaitable<void> Edge::AcceptLoop(std::shared_ptr<Listener> l) {
  const int port = l->route.public_port;
  for (;;) {
    const asio::any_io_executor client_ex = ClientExecutor();
    auto [ec, sock] = co_await l->acceptor.async_accept(client_ex, kNoThrow);
    if (ec == asio::error::operation_aborted || !l->acceptor.is_open()) co_return;
    if (ec) {
      // Out of descriptors or memory: back off rather than spin.
      spdlog::warn("msg=\"public accept failed\" port={} error=\"{}\"", port, ec.message());
      co_await Sleep(std::chrono::milliseconds(100));
      continue;
    }
    asio::co_spawn(client_ex, ServeClient(std::move(sock), port), asio::detached);
  }
}

asio::awaitable<void> Edge::ServeClient(tcp::socket client, int port) {
  error_code ignored;
  client.set_option(tcp::no_delay(true), ignored);
  auto refuse = [&] {
    ++refused_;
    client.close(ignored);
  };
  const tcp::endpoint peer = client.remote_endpoint(ignored);
  if (ignored) co_return refuse();  // gone already
  control::PublicRoute route;
  {
    std::lock_guard lock(mu_);
    auto it = listeners_.find(port);
    if (it == listeners_.end() || stopped_) co_return refuse();
    route = it->second->route;
  }
  if (!route.open || route.node_id.empty()) co_return refuse();
  // The stream's slots, from here to the end of its relay; any early return gives them back.
  auto admitted = admission_.Admit(route.workload_id, peer.address());
  if (const Refusal* why = std::get_if<Refusal>(&admitted)) {
    CountRefusal(*why, route.workload_id, peer.address(), port);
    co_return refuse();
  }
  Admission::Ticket ticket = std::get<Admission::Ticket>(std::move(admitted));

  auto p = std::make_shared<Pending>(co_await asio::this_coro::executor);
  p->node_id = route.node_id;
  p->secret = RandomToken(24);
  const std::string stream_id = NewId("st");
  {
    std::lock_guard lock(mu_);
    pending_[stream_id] = p;
  }
  const std::chrono::milliseconds idle =
      route.idle_timeout.count() > 0 ? route.idle_timeout : opts_.idle_timeout;
  const link::StreamOpen open{stream_id, p->secret,   route.workload_id, route.container_port,
                              "",        idle.count()};
  if (open_(route.node_id, open)) {
    p->wake.expires_after(opts_.open_timeout);
    co_await p->wake.async_wait(kNoThrow);
  }
  {
    std::lock_guard lock(mu_);
    pending_.erase(stream_id);
  }
  if (!p->data) {
    spdlog::info("msg=\"stream not opened\" workload={} port={}", route.workload_id, port);
    co_return refuse();
  }
  std::unique_ptr<tunnel::TlsSocket> data = std::move(p->data);
  if (!p->leftover.empty()) {
    auto [wec, n] = co_await asio::async_write(client, asio::buffer(p->leftover), kNoThrow);
    if (wec) {
      data->Close();
      co_return refuse();
    }
  }
  ++opened_;
  ++active_streams_;
  // The relay outlives this coroutine (whose frame is freed now: an idle stream costs only the
  // relay's small state) and takes the ticket over: `done` runs once and releases it; were
  // `done` never to run, destroying the relay would.
  // (No co_await inside the call: GCC 12 mishandles temporaries in such full-expressions.)
  auto held = std::make_shared<Admission::Ticket>(std::move(ticket));
  const asio::any_io_executor strand = co_await asio::this_coro::executor;
  tunnel::StartRelay(strand, tunnel::RelayEnd(std::move(client)), tunnel::RelayEnd(std::move(data)),
                     {idle}, [this, held, id = route.workload_id](const tunnel::RelayStats& st) {
                       --active_streams_;
                       held->Release();
                       spdlog::debug(
                           "msg=\"stream closed\" workload={} in={} out={} aborted={} idle={}", id,
                           st.a_to_b, st.b_to_a, st.aborted, st.idle_timed_out);
                     });
}

void Edge::CountRefusal(Refusal why, const std::string& workload_id,
                        const asio::ip::address& source, int port) {
  switch (why) {
    case Refusal::kWorkloadFull:
      ++refused_workload_;
      // The workload's own cap is worth an operator's attention; per-source refusals are what
      // a flood from one address produces, so they stay at debug and cannot fill the log.
      spdlog::warn("msg=\"stream cap reached; client refused\" workload={} port={} cap={}",
                   workload_id, port, opts_.max_streams_per_workload);
      return;
    case Refusal::kSourceWorkloadFull:
      ++refused_source_workload_;
      break;
    case Refusal::kSourceFull:
      ++refused_source_;
      break;
  }
  spdlog::debug(
      "msg=\"per-source stream cap reached; client refused\" cap={} workload={} port={} "
      "source={}",
      RefusalName(why), workload_id, port, Admission::Normalize(source).to_string());
}

asio::awaitable<void> Edge::AcceptDataConnection(std::unique_ptr<tunnel::TlsSocket> conn,
                                                 std::string prefix) {
  auto reject = [&](const std::string& why) {
    ++rejected_;
    spdlog::warn("msg=\"tunnel data connection rejected\" reason=\"{}\"", why);
    conn->Close();
  };
  std::string buf = std::move(prefix);
  auto got = co_await (ReadHandshakeLine(*conn, buf) || Sleep(opts_.handshake_timeout));
  if (got.index() == 1) co_return reject("handshake timed out");
  Result<std::size_t> len = std::move(std::get<0>(got));
  if (!len.ok()) co_return reject(len.error().message);
  auto cred = tunnel::ParseHandshake(std::string_view(buf).substr(0, *len));
  if (!cred.ok()) co_return reject(cred.error().message);

  std::shared_ptr<Pending> p;
  {
    std::lock_guard lock(mu_);
    auto it = pending_.find(cred->stream_id);
    if (it == pending_.end()) co_return reject("unknown, expired or used stream");
    const std::string& want = it->second->secret;
    if (want.size() != cred->secret.size() ||
        CRYPTO_memcmp(want.data(), cred->secret.data(), want.size()) != 0)
      co_return reject("wrong stream secret");
    p = it->second;
    pending_.erase(it);  // single use
  }
  // Onto the client's relay thread, so the whole stream runs there. Moved here, before the
  // hand-over: whatever then holds the connection belongs to that thread's io_context alone,
  // even a hand-over that a stopping edge never runs. (Without relay threads the client is on
  // a strand of ioc_, where the connection already is.)
  if (!relay_threads_.empty()) {
    if (error_code ec = conn->MoveTo(p->executor)) {
      spdlog::warn("msg=\"data connection could not join its stream\" error=\"{}\"", ec.message());
      asio::post(p->executor, [p] { p->wake.cancel(); });  // the client is refused
      co_return;
    }
  }
  asio::post(p->executor, [p, c = std::move(conn), rest = buf.substr(*len)]() mutable {
    p->data = std::move(c);
    p->leftover = std::move(rest);
    p->wake.cancel();
  });
}

void Edge::OnStreamFail(const std::string& node_id, const link::StreamFail& fail) {
  std::shared_ptr<Pending> p;
  {
    std::lock_guard lock(mu_);
    auto it = pending_.find(fail.stream_id);
    if (it == pending_.end() || it->second->node_id != node_id) return;
    p = it->second;
    pending_.erase(it);
  }
  spdlog::info("msg=\"agent could not open stream\" stream={} reason=\"{}\"", fail.stream_id,
               fail.reason.substr(0, 200));
  asio::post(p->executor, [p] { p->wake.cancel(); });
}

bool Edge::PortBindable(int port) const {
  {
    std::lock_guard lock(mu_);
    if (listeners_.count(port)) return false;
  }
  error_code ec;
  const auto addr = asio::ip::make_address(opts_.bind_address, ec);
  if (ec) return false;
  tcp::acceptor probe(ioc_);
  const tcp::endpoint ep(addr, static_cast<unsigned short>(port));
  probe.open(ep.protocol(), ec);
  if (!ec) probe.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) probe.bind(ep, ec);
  return !ec;
}

bool Edge::Listening(int port) const {
  std::lock_guard lock(mu_);
  auto it = listeners_.find(port);
  return it != listeners_.end() && it->second->bound;
}

asio::awaitable<void> Edge::RebindLoop() {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    timer.expires_after(opts_.rebind_interval);
    auto [ec] = co_await timer.async_wait(kNoThrow);
    if (ec) co_return;
    std::lock_guard lock(mu_);
    if (stopped_) co_return;
    for (auto& [port, l] : listeners_)
      if (!l->bound) StartListener(l);
  }
}

void Edge::Stop() {
  std::map<int, std::shared_ptr<Listener>> listeners;
  std::map<std::string, std::shared_ptr<Pending>> pending;
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
    listeners.swap(listeners_);
    pending.swap(pending_);
    ports_by_workload_.clear();
  }
  for (auto& [port, l] : listeners) {
    asio::post(l->strand, [l] {
      error_code ec;
      l->acceptor.close(ec);
    });
  }
  for (auto& [id, p] : pending) asio::post(p->executor, [p] { p->wake.cancel(); });
  for (auto& t : relay_threads_) t->Stop();
}

EdgeStats Edge::Stats() const {
  EdgeStats s;
  s.active_streams = active_streams_;
  s.streams_opened = opened_;
  s.streams_refused = refused_;
  s.handshakes_rejected = rejected_;
  s.refused_workload_cap = refused_workload_;
  s.refused_source_workload_cap = refused_source_workload_;
  s.refused_source_cap = refused_source_;
  const Admission::Counts held = admission_.InFlight();
  s.held_streams = held.streams;
  s.sources = held.sources;
  std::lock_guard lock(mu_);
  s.listeners = static_cast<std::int64_t>(listeners_.size());
  return s;
}

}  // namespace lattice::edge
