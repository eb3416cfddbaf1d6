// The project's TLS policy, shared by every context that is made (src/tls, the tests' PKI) and
// every connection that checks it (tunnel::TlsSocket): TLS 1.3 only, and its three strong
// suites with AES-128-GCM first (the fastest with AES-NI, and what tunnels spend their CPU on).
#pragma once

namespace lattice {

inline constexpr char kTls13CipherSuites[] =
    "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384";

}  // namespace lattice
