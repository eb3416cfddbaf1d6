// RFC 9457 problem details: every error the API returns is `application/problem+json` with
// `type`, `title`, `status`, `detail`, and for validation failures `errors: [{field, message}]`.
#pragma once

#include "common/result.h"
#include "http/types.h"

namespace lattice::http {

// The HTTP status an error category maps to.
bhttp::status StatusFor(ErrorCode code);

// A problem reply for `error`. `instance` is the request path. Sets Retry-After for 429 and
// 503 (retry_after_seconds, or 1 s for a 503 that names none).
Reply ProblemReply(const Error& error, std::string_view instance);

// A problem reply for a status the HTTP layer itself decides (404, 405, 413, ...).
Reply ProblemReply(bhttp::status status, std::string detail, std::string_view instance);

}  // namespace lattice::http
