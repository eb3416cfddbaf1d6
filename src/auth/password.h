// Password hashing (argon2id via libsodium) and the account input policy.
// Hashing costs ~64 MiB and tens of milliseconds by design: call it off the I/O threads.
// Thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace lattice::auth {

// argon2id with t=2, m=64 MiB, p=1 (libsodium's INTERACTIVE limits), above OWASP's minimum
// (m=19 MiB, t=2, p=1). Returns libsodium's self-describing encoded string.
Result<std::string> HashPassword(std::string_view password);

// True if `password` matches `encoded`. Never throws; a malformed hash is a mismatch.
bool VerifyPassword(std::string_view password, const std::string& encoded);

// Validates the password policy; returns the message for the `password` field, or "" if fine.
// At least 10 characters (Unicode code points), at most 256.
std::string PasswordPolicyViolation(std::string_view password);

// Trims surrounding whitespace and lower-cases; returns "" if the result is not a plausible
// address (one '@', non-empty local part, dotted domain, no spaces or controls, ≤ 254 bytes).
std::string NormalizeEmail(std::string_view email);

}  // namespace lattice::auth
