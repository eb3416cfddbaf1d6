// The server end of an agent link: a WebSocket over TLS accepted on GET /api/v1/agent/link
// (server/tls_front.h routes the upgrade request here; the TLS is a lean tunnel::TlsSocket whose
// executor is a strand of its own, and the whole link runs on it). The first
// message must be `hello` (within 10 s); the control plane authenticates it; then the session
// relays control-plane messages to the agent (bounded queue, one writer) and agent reports to
// the control plane until either side closes or the agent falls silent (3 × heartbeat).
// Joins (a hello with a join token) and refused hellos are recorded in the audit log with the
// agent's `client_address`.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http.hpp>

#include "audit/audit_log.h"
#include "control/agent_hub.h"
#include "control/control_plane.h"
#include "tunnel/tls_socket.h"

namespace lattice::server {

boost::asio::awaitable<void> RunAgentLink(
    std::unique_ptr<tunnel::TlsSocket> socket,
    boost::beast::http::request<boost::beast::http::string_body> req, control::ControlPlane& cp,
    control::AgentHub& hub, int heartbeat_seconds, audit::AuditLog& audit,
    std::string client_address);

}  // namespace lattice::server
