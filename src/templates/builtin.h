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

// Memory (MB) a workload gets when the request names none. Every workload has a limit: the
// custom default equals the scheduler's and the quota's stand-in for an unset request, so what
// they count is what the engine enforces.
inline constexpr std::int64_t kManagedDefaultMemoryMb = 512;
inline constexpr std::int64_t kCustomDefaultMemoryMb = 256;

inline constexpr std::array<std::string_view, 4> kPostgresEnvKeys = {
    "POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_PASSWORD_FILE", "POSTGRES_DB"};
inline constexpr std::array<std::string_view, 4> kMinioEnvKeys = {
    "MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD", "MINIO_ROOT_USER_FILE", "MINIO_ROOT_PASSWORD_FILE"};

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
