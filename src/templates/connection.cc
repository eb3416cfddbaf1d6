// ConnectionDetails(): the strings users paste into clients. Userinfo and path are
// percent-encoded (a no-op for generated credentials, whose alphabet is URL-safe);
// IPv6 literal hosts are bracketed.

#include <string>
#include <string_view>

#include "templates/builtin.h"
#include "templates/template.h"

namespace lattice::templates {
namespace {

std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string HostPort(const std::string& host, int port) {
  const bool ipv6 = host.find(':') != std::string::npos && !host.starts_with('[');
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

}  // namespace

std::map<std::string, std::string> ConnectionDetails(const std::string& template_name,
                                                     const Credentials& creds,
                                                     const std::string& host, int port) {
  if (template_name == builtin::kPostgres) {
    const std::string user = PercentEncode(builtin::Credential(creds, "username"));
    const std::string password = PercentEncode(builtin::Credential(creds, "password"));
    const std::string database = PercentEncode(builtin::Credential(creds, "database"));
    return {{"connection_string",
             "postgres://" + user + ":" + password + "@" + HostPort(host, port) + "/" + database}};
  }
  if (template_name == builtin::kMinio) return {{"endpoint", "http://" + HostPort(host, port)}};
  return {};
}

}  // namespace lattice::templates
