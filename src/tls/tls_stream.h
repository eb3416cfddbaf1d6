// The TLS vocabulary shared by the server (TLS front, tunnel edge) and the agent (link and data
// connections): the stream type every TLS connection is carried on, and the hook through which
// the server hands over a tunnel data connection.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <functional>
#include <string>

namespace lattice::tls {

// A TLS connection over a Beast TCP stream (its timeouts: get_lowest_layer(s).expires_after).
using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

// Takes over a tunnel data connection once the server's TLS front has completed the handshake
// and read the connection's first bytes from the decrypted stream. `prefix` holds every byte
// already read (it starts with "LTUN"; the rest of the handshake may or may not be in it). The
// stream has no deadline set. The handler owns the connection until it returns.
using DataConnectionHandler =
    std::function<boost::asio::awaitable<void>(TlsStream stream, std::string prefix)>;

}  // namespace lattice::tls
