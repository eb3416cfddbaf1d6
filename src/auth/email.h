// Which e-mail addresses an account may have, beyond the syntax NormalizeEmail checks: nothing
// that renders differently from what it is. docs/security.md ("Accounts") states the rule:
//  - valid UTF-8 only;
//  - no control, invisible, format or bidirectional-control characters (U+200E/F, U+202A–E,
//    U+2066–9, U+061C, zero-width and other space characters, variation selectors, tags,
//    private-use and noncharacters);
//  - within one label (the parts between '@' and '.'), letters of one script only, except the
//    combinations UTS #39 "highly restrictive" admits (Latin with Han and Hiragana/Katakana,
//    with Han and Bopomofo, or with Han and Hangul). So "pаypal" with a Cyrillic "а" is refused,
//    while "ivan@пример.рф" (each label one script) is accepted.
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace lattice::auth {

// Why `email` (already normalised) may not be an account's address: a message for the
// `email` field, or "" if it may.
std::string EmailViolation(std::string_view email);

}  // namespace lattice::auth
