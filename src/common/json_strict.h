// Duplicate-member detection for untrusted JSON. Boost.JSON keeps the last of two equal keys
// without a word, so `{"role":"user","role":"admin"}` would mean whatever the last reader
// assumes; request bodies with a duplicate member anywhere are refused instead. Thread-safe
// (no state).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace lattice {

// The path of the first member that repeats a key of its object, e.g. "role",
// "ports[1].port" or "resources.cpus"; std::nullopt if there is none, or if `json` is not
// well-formed (the caller's parse reports that).
std::optional<std::string> FindDuplicateKey(std::string_view json, std::size_t max_depth = 32);

}  // namespace lattice
