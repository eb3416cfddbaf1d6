// Fuzzes what an anonymous client controls on the auth routes: the raw HTTP request (parsed
// with the server's limits), the client address taken from X-Forwarded-For behind a trusted
// proxy, the JSON body decoded as {email, password, invite}, the email and password policy,
// and the bearer token's signature check.
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "auth/password.h"
#include "auth/token.h"
#include "common/json_util.h"
#include "common/random.h"
#include "http/client_address.h"
#include "http/types.h"

namespace bhttp = boost::beast::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool init = (lattice::InitCrypto(), true);
  (void)init;
  static const std::string key(32, 'k');
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(16 << 10);
  parser.body_limit(1 << 20);
  parser.eager(true);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(input.data(), input.size()), ec);
  if (ec == bhttp::error::need_more) parser.put_eof(ec);
  if (!parser.is_header_done()) return 0;

  lattice::http::Request req = parser.release();
  lattice::http::RequestContext ctx{req, req.target(), {}, {}, "", "", std::nullopt};
  if (std::string_view token = ctx.BearerToken(); !token.empty())
    (void)lattice::auth::VerifyTokenSignature(token, key);
  static const auto trusted = lattice::http::TrustedProxies::Parse({"127.0.0.0/8", "fd00::/8"});
  std::vector<std::string_view> forwarded;
  for (auto [it, end] = req.equal_range("X-Forwarded-For"); it != end; ++it)
    forwarded.push_back(it->value());
  (void)lattice::http::ClientAddress("127.0.0.1", forwarded, *trusted);

  auto obj = lattice::ParseJsonObject(req.body());
  if (!obj.ok()) return 0;
  lattice::FieldReader r(*obj);
  const std::string email = r.RequiredString("email");
  const std::string password = r.RequiredString("password");
  (void)r.OptionalString("invite");
  (void)lattice::auth::NormalizeEmail(email);
  (void)lattice::auth::PasswordPolicyViolation(password);
  return 0;
}
