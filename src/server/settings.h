// Settings: every option App needs, parsed and validated from a ServerConfig before anything
// is opened or built. ResolveSettings touches no disk and no network (beyond asking the OS for
// its host name when no public host is given), so a bad flag is reported before the data dir,
// the store or the cluster are touched. Plain values; copy freely.
// The options that depend on what construction builds (the CA's fingerprint, whether a port
// can be bound by the edge) are left unset here and filled in by App.
#pragma once

#include <cstdint>
#include <string>

#include "api/stream_registry.h"
#include "auth/auth_service.h"
#include "common/result.h"
#include "control/control_plane.h"
#include "control/prober.h"
#include "edge/edge.h"
#include "http/dispatcher.h"
#include "server/config.h"
#include "tls/server_pki.h"

namespace lattice::server {

struct Settings {
  std::string listen_host;  // from --listen
  std::uint16_t listen_port = 0;
  tls::PkiOptions pki;              // every name this run's certificate carries
  auth::AuthOptions auth;           // incl. the registration mode
  api::StreamLimits streams;        // long-lived responses per user
  control::ControlOptions control;  // incl. admission, quotas, public ports and host
  edge::EdgeOptions edge;
  control::ProberOptions probes;   // interval and timeouts; dials the edge's bind address
  http::DispatchOptions dispatch;  // CORS, access log, trusted proxies
};

// kInvalidArgument, naming the flag, for the first malformed or disallowed option; the checks
// run in the order the options were always checked.
Result<Settings> ResolveSettings(const ServerConfig& config);

// The database as logs may show it: the engine, and a PostgreSQL URL without its password.
std::string DatabaseForLogs(const ServerConfig& config);

}  // namespace lattice::server
