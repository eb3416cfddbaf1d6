#include "runtime/docker/pull_error.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace lattice::runtime::docker {
namespace {

bool HasAny(const std::string& text, std::initializer_list<std::string_view> needles) {
  return std::any_of(needles.begin(), needles.end(),
                     [&](std::string_view n) { return text.find(n) != std::string::npos; });
}

}  // namespace

PullFailure ClassifyPullError(std::string_view engine_message) {
  std::string t(engine_message);
  std::transform(t.begin(), t.end(), t.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  // Order matters: "pull access denied … may require 'docker login'" is Docker Hub's answer for
  // both a missing and a private repository, so authentication is named before "not exist".
  if (HasAny(t, {"unauthorized", "authentication required", "pull access denied",
                 "requested access to the resource is denied", "no basic auth credentials",
                 "denied:"}))
    return PullFailure::kAuthRequired;
  if (HasAny(t, {"manifest unknown", "not found", "does not exist", "name unknown", "no such image",
                 "manifest for"}))
    return PullFailure::kNotFound;
  if (HasAny(t, {"dial tcp", "no such host", "connection refused", "i/o timeout", "timeout",
                 "network is unreachable", "tls:", "x509", "server gave http response",
                 "connection reset", "eof", "temporary failure in name resolution",
                 "no route to host", "context deadline exceeded"}))
    return PullFailure::kUnreachable;
  return PullFailure::kOther;
}

std::string PullFailureReason(PullFailure f, std::string_view image) {
  const std::string q = "image \"" + std::string(image.substr(0, 255)) + "\"";
  switch (f) {
    case PullFailure::kNotFound:
      return q + " was not found in its registry";
    case PullFailure::kAuthRequired:
      return q +
             " could not be pulled: the registry requires authentication, or the "
             "repository does not exist";
    case PullFailure::kNotAllowed:
      return q + " is not allowed on this node";
    case PullFailure::kUnreachable:
      return q + " could not be pulled: its registry is unreachable from this node";
    case PullFailure::kOther:
      break;
  }
  return q + " could not be pulled";
}

std::string_view PullFailureSlug(PullFailure f) {
  switch (f) {
    case PullFailure::kNotFound:
      return "not-found";
    case PullFailure::kAuthRequired:
      return "auth-required";
    case PullFailure::kNotAllowed:
      return "not-allowed";
    case PullFailure::kUnreachable:
      return "registry-unreachable";
    case PullFailure::kOther:
      break;
  }
  return "pull-failed";
}

}  // namespace lattice::runtime::docker
