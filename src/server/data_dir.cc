#include "server/data_dir.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <filesystem>

namespace lattice::server {

namespace fs = std::filesystem;

Status PrepareDataDir(const std::string& dir) {
  ::umask(077);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error::Invalid("cannot create data dir " + dir + ": " + ec.message());
  if (::chmod(dir.c_str(), 0700) != 0)
    spdlog::warn("msg=\"cannot restrict the data dir to 0700\" path=\"{}\"", dir);
  // Symlinks are not followed: the data dir is ours, what a link points at may not be.
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st {};
    const std::string path = it->path().string();
    if (::lstat(path.c_str(), &st) != 0) continue;
    mode_t want = st.st_mode & 07777;
    if (S_ISDIR(st.st_mode))
      want = 0700;
    else if (S_ISREG(st.st_mode))
      want &= ~mode_t{077};
    else
      continue;
    if (want == (st.st_mode & 07777)) continue;
    if (::chmod(path.c_str(), want) == 0)
      spdlog::info("msg=\"restricted data file\" path=\"{}\" mode={:o}", path, want);
    else
      spdlog::warn("msg=\"cannot restrict data file\" path=\"{}\"", path);
  }
  return Status::Ok();
}

}  // namespace lattice::server
