#include "agent/registry_guard.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netdb.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "runtime/docker/pull_error.h"
#include "templates/admission.h"

namespace lattice::agent {
namespace {

std::string HostOf(const std::string& registry) {
  if (!registry.empty() && registry.front() == '[') {
    auto end = registry.find(']');
    return registry.substr(1, end == std::string::npos ? 0 : end - 1);
  }
  return registry.substr(0, registry.find(':'));
}

std::string Numeric(const sockaddr* sa) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (sa->sa_family == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, buf, sizeof buf);
  else if (sa->sa_family == AF_INET6)
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, buf, sizeof buf);
  return buf;
}

Error Refused(std::string_view image) {
  Error e = Error::Forbidden(
      runtime::docker::PullFailureReason(runtime::docker::PullFailure::kNotAllowed, image));
  e.type = "not-allowed";
  return e;
}

}  // namespace

bool IsNodeAddress(const std::string& address) {
  if (templates::IsLocalRegistryHost(
          address.find(':') != std::string::npos && address.front() != '[' ? "[" + address + "]"
                                                                           : address))
    return true;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return false;
  std::unique_ptr<ifaddrs, decltype(&freeifaddrs)> guard(list, freeifaddrs);
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) continue;
    if (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6) continue;
    if (Numeric(i->ifa_addr) == address) return true;
  }
  return false;
}

Status CheckRegistry(std::string_view image, const std::vector<std::string>& allowed_by_name) {
  const std::string registry = templates::RegistryOf(image);
  if (registry == templates::kDefaultRegistry) return Status::Ok();
  if (std::find(allowed_by_name.begin(), allowed_by_name.end(), registry) != allowed_by_name.end())
    return Status::Ok();  // the administrator named it
  if (templates::IsLocalRegistryHost(registry)) return Refused(image);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(HostOf(registry).c_str(), nullptr, &hints, &res) != 0) {
    return Status::Ok();  // unresolvable: the pull fails as "unreachable", touching nothing
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(res, freeaddrinfo);
  for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
    if (IsNodeAddress(Numeric(a->ai_addr))) return Refused(image);
  }
  return Status::Ok();
}

}  // namespace lattice::agent
