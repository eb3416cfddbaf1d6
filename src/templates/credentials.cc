// GenerateCredentials(): secrets drawn from the CSPRNG over alphanumeric alphabets, which
// are URL-safe without escaping and paste into shells, URLs and config files unquoted.
// Usernames and database names start with a letter so they are plain SQL identifiers.

#include <boost/json.hpp>

#include <string_view>

#include "common/random.h"
#include "templates/builtin.h"
#include "templates/template.h"

namespace lattice::templates {
namespace {

constexpr std::string_view kLowerAlnum = "abcdefghijklmnopqrstuvwxyz0123456789";
constexpr std::string_view kUpperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
constexpr std::string_view kAlnum =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

// `n` characters drawn uniformly from `alphabet` (rejection sampling avoids modulo bias).
std::string RandomString(std::string_view alphabet, std::size_t n) {
  const unsigned limit = 256 - 256 % alphabet.size();
  std::string out;
  out.reserve(n);
  while (out.size() < n) {
    for (unsigned char b : RandomBytes(n)) {
      if (b >= limit) continue;
      out += alphabet[b % alphabet.size()];
      if (out.size() == n) break;
    }
  }
  return out;
}

}  // namespace

Credentials GenerateCredentials(const std::string& template_name) {
  if (template_name == builtin::kPostgres) {
    return {{"username", "u" + RandomString(kLowerAlnum, 10)},
            {"password", RandomString(kAlnum, 32)},
            {"database", "db" + RandomString(kLowerAlnum, 10)}};
  }
  if (template_name == builtin::kMinio) {
    return {{"access_key", RandomString(kUpperAlnum, 20)},
            {"secret_key", RandomString(kAlnum, 40)}};
  }
  return {};
}

std::string CredentialsToJson(const Credentials& c) {
  boost::json::object o;
  for (const auto& [k, v] : c) o[k] = v;
  return boost::json::serialize(o);
}

Credentials CredentialsFromJson(const std::string& text) {
  Credentials c;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (ec || !v.is_object()) return c;
  for (const auto& [k, val] : v.as_object())
    if (val.is_string()) c[std::string(k)] = std::string(val.as_string());
  return c;
}

}  // namespace lattice::templates
