// Why an image pull failed, in words a workload's owner may see. The engine answers a failed
// pull with free text that can name internal hosts, addresses and ports ("dial tcp
// 127.0.0.1:5000: connect: connection refused"); showing it would turn the image field into a
// port scanner of the node. The text is classified here, once, at the engine's edge; the raw
// text goes only to the agent's log and to administrators. Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace lattice::runtime::docker {

enum class PullFailure {
  kNotFound,      // the registry answered: no such repository or tag
  kAuthRequired,  // the registry wants credentials (or hides a private repository)
  kNotAllowed,    // refused by policy before asking the registry
  kUnreachable,   // no answer: DNS, connection, TLS, timeout
  kOther,
};

// Reads the engine's message. Unknown text is kOther.
PullFailure ClassifyPullError(std::string_view engine_message);

// "image \"x\" was not found in its registry" and the like: one sentence, no engine text.
std::string PullFailureReason(PullFailure f, std::string_view image);

// "not-found", "auth-required", "not-allowed", "registry-unreachable", "pull-failed".
std::string_view PullFailureSlug(PullFailure f);

}  // namespace lattice::runtime::docker
