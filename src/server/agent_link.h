// The server end of an agent link: a WebSocket over TLS accepted on GET /api/v1/agent/link
// (server/tls_front.h routes the upgrade request here; the TLS is a lean tunnel::TlsSocket whose
// executor is a strand of its own, and the whole link runs on it). The first
// message must be `hello` (within 10 s); the control plane authenticates it; then the link
// relays control-plane messages to the agent (bounded queue, one writer) and agent reports to
// the control plane until either side closes or the agent falls silent (3 × heartbeat).
// Joins (a hello with a join token) and refused hellos are recorded in the audit log with the
// agent's `client_address`.
// The link never blocks its thread on the store: authenticating the hello, the connect and
// disconnect bookkeeping and each status report run on the StoreExecutor. The reader keeps
// reading meanwhile (heartbeats are in memory), so a frozen database does not stop the link:
// status reports wait in a bounded queue (1024; on overflow the link is closed and the agent
// reconnects and reports afresh) and are applied in order once the store answers. Metrics
// batches queue with them but are never offered again: one the store cannot take is dropped. A
// hello the store cannot take in time is refused with kUnavailable (the agent retries).
//
// Memory: a server holds one link per node, tens of thousands, nearly all idle between
// heartbeats. An idle link is its TLS connection (the SSL object; no record buffers), its
// WebSocket and one pending read, whose handler owns the link and which is lent a 128-byte
// array rather than a buffer; no coroutine frame is kept while the agent is silent (the writer
// and the store worker run only while they have work), and nothing of the accept, the TLS
// handshake or the hello is kept. No permessage-deflate.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http.hpp>

#include "audit/audit_log.h"
#include "control/agent_hub.h"
#include "control/backups.h"
#include "control/control_plane.h"
#include "control/metrics_service.h"
#include "http/store_executor.h"
#include "tunnel/tls_socket.h"

namespace lattice::server {

// What a link uses; all owned by server::App and outliving every link.
struct AgentLinkServices {
  control::ControlPlane& cp;
  control::Backups& backups;  // backup results, and running backups an agent restart ended
  control::AgentHub& hub;
  control::MetricsService& metrics;  // the agents' metrics batches
  audit::AuditLog& audit;
  http::StoreExecutor& store_executor;  // where the link's store calls run
  int heartbeat_seconds = 5;
};

// Accepts the upgrade and the hello, then leaves the admitted link running on its own (it ends
// when the agent leaves or falls silent, or the hub closes it) and returns. Must run on the
// socket's executor (its strand), as the coroutine TlsFront spawns for it does.
boost::asio::awaitable<void> RunAgentLink(
    std::unique_ptr<tunnel::TlsSocket> socket,
    boost::beast::http::request<boost::beast::http::string_body> req, AgentLinkServices services,
    std::string client_address);

}  // namespace lattice::server
