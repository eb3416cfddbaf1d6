// Facts about the built-in templates shared by validation and rendering: their names, the
// environment keys a managed template sets itself, and default resource requests.
// Internal to lattice_templates; constants and pure helpers, so thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "templates/template.h"

namespace lattice::templates::builtin {

inline constexpr std::string_view kPostgres = "postgres";
inline constexpr std::string_view kMinio = "minio";
inline constexpr std::string_view kCustom = "custom";

inline constexpr int kPostgresPort = 5432;
inline constexpr int kMinioS3Port = 9000;
inline constexpr int kMinioConsolePort = 9001;

// Memory (MB) a managed template gets when the request names none. Custom: 0 (no limit).
inline constexpr std::int64_t kManagedDefaultMemoryMb = 512;

inline constexpr std::array<std::string_view, 3> kPostgresEnvKeys = {
    "POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"};
inline constexpr std::array<std::string_view, 2> kMinioEnvKeys = {"MINIO_ROOT_USER",
                                                                  "MINIO_ROOT_PASSWORD"};

inline bool IsManaged(std::string_view t) {
  return t == kPostgres || t == kMinio;
}

// The env keys the template sets itself (users may not override them); empty for custom.
inline std::span<const std::string_view> ReservedEnvKeys(std::string_view t) {
  if (t == kPostgres) return kPostgresEnvKeys;
  if (t == kMinio) return kMinioEnvKeys;
  return {};
}

// creds[key], or "" when absent (Render/ConnectionDetails take creds as given).
inline std::string Credential(const Credentials& creds, const std::string& key) {
  auto it = creds.find(key);
  return it == creds.end() ? std::string() : it->second;
}

}  // namespace lattice::templates::builtin
