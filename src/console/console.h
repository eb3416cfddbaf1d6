// The web console (web/, a Vite + React single-page app) served by the control plane.
// The built files (web/dist) are embedded into the binary at build time (see CMakeLists.txt),
// so a release binary serves the console without the source tree. A build made before the
// console was built (`npm run build` in web/) serves a short page explaining how to build it.
#pragma once

#include <span>
#include <string_view>

#include "http/router.h"

namespace lattice::console {

// One embedded file: its path under web/dist ("index.html", "assets/index-3f2a.js").
struct Asset {
  std::string_view path;
  std::string_view content_type;
  std::string_view bytes;
};

// The files embedded at build time; empty when web/dist did not exist at configure time.
std::span<const Asset> EmbeddedAssets();

// Finds an embedded file by its path under web/dist; null if absent.
const Asset* FindAsset(std::span<const Asset> assets, std::string_view path);

// The content type for a file name, by extension.
std::string_view ContentTypeFor(std::string_view path);

// The console's pages: the single-page app's client routes (each answered with index.html,
// so a reload or a deep link works) and its hashed, immutable assets under /assets/.
// Every path listed here is documented in docs/openapi.yaml (tag `console`); any other path,
// /api/* included, still gets the dispatcher's 404 problem.
inline constexpr std::string_view kPages[] = {
    "/",      "/login",          "/signup",        "/nodes",          "/invites",
    "/audit", "/backup-targets", "/notifications", "/workloads/{id}", "/workloads/{id}/{tab}"};

// Registers the console's routes (public GETs) on the router, serving `assets`.
void AddConsoleRoutes(http::Router& router, std::span<const Asset> assets = EmbeddedAssets());

}  // namespace lattice::console
