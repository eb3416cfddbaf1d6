#include "common/secretbox.h"

#include <sodium.h>

#include "common/random.h"

namespace lattice {

std::string Seal(std::string_view plaintext, const std::string& key) {
  std::string out = RandomBytes(crypto_secretbox_NONCEBYTES);
  out.resize(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plaintext.size());
  auto* base = reinterpret_cast<unsigned char*>(out.data());
  crypto_secretbox_easy(base + crypto_secretbox_NONCEBYTES,
                        reinterpret_cast<const unsigned char*>(plaintext.data()), plaintext.size(),
                        base, reinterpret_cast<const unsigned char*>(key.data()));
  return out;
}

Result<std::string> Open(std::string_view sealed, const std::string& key) {
  if (sealed.size() < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
    return Error::Internal("sealed secret is truncated");
  const auto* base = reinterpret_cast<const unsigned char*>(sealed.data());
  std::string out(sealed.size() - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES, '\0');
  if (crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(out.data()),
                                 base + crypto_secretbox_NONCEBYTES,
                                 sealed.size() - crypto_secretbox_NONCEBYTES, base,
                                 reinterpret_cast<const unsigned char*>(key.data())) != 0)
    return Error::Internal("sealed secret failed authentication (wrong key or tampered)");
  return out;
}

}  // namespace lattice
