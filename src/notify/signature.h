// How a webhook delivery is signed (docs/notifications.md, "Verifying a delivery"): the
// X-Lattice-Signature header is "sha256=" followed by the lowercase hex HMAC-SHA256, keyed by
// the channel's secret (the text shown at creation, as its bytes), of the decimal Unix
// timestamp sent in X-Lattice-Timestamp, a ".", and the body's exact bytes. Signing the
// timestamp lets receivers refuse replays older than a few minutes. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace lattice::notify {

// "sha256=<64 hex digits>".
std::string SignWebhook(std::string_view secret, std::int64_t timestamp, std::string_view body);

}  // namespace lattice::notify
