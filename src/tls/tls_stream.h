// The TLS stream type of the agent's link: a Beast/Asio SSL stream over a Beast TCP stream, made
// from a PinnedClient's context. (The server side, and the tunnels' data connections, use the
// lean tunnel::TlsSocket instead: Asio's SSL stream keeps ~70 KB of buffers per connection.)
#pragma once

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

namespace lattice::tls {

// A TLS connection over a Beast TCP stream (its timeouts: get_lowest_layer(s).expires_after).
using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

}  // namespace lattice::tls
