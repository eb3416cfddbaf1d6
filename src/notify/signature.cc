#include "notify/signature.h"

#include <sodium.h>

#include "common/random.h"

namespace lattice::notify {

std::string SignWebhook(std::string_view secret, std::int64_t timestamp, std::string_view body) {
  const std::string prefix = std::to_string(timestamp) + ".";
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(secret.data()),
                              secret.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(prefix.data()),
                                prefix.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(body.data()),
                                body.size());
  std::string mac(crypto_auth_hmacsha256_BYTES, '\0');
  crypto_auth_hmacsha256_final(&st, reinterpret_cast<unsigned char*>(mac.data()));
  return "sha256=" + HexEncode(mac);
}

}  // namespace lattice::notify
