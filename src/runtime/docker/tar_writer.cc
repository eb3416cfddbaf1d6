#include "runtime/docker/tar_writer.h"

#include <array>
#include <cstdio>
#include <cstring>

namespace lattice::runtime::docker {
namespace {

constexpr std::size_t kBlock = 512;
constexpr std::size_t kMaxContent = 1 << 20;

// Writes `value` as zero-padded octal in `width - 1` digits plus a NUL, as ustar wants.
void Octal(char* field, std::size_t width, unsigned long long value) {
  std::snprintf(field, width, "%0*llo", static_cast<int>(width - 1), value);
}

}  // namespace

Result<std::string> TarArchive(const std::vector<FileEntry>& files) {
  std::string out;
  for (const FileEntry& f : files) {
    if (f.name.empty() || f.name.size() >= 100 || f.name.find('/') != std::string::npos ||
        f.name == "." || f.name == "..") {
      return Error::Invalid("tar entry name '" + f.name.substr(0, 100) + "' is not a plain name");
    }
    if (f.content.size() > kMaxContent)
      return Error::Invalid("tar entry '" + f.name + "' is over 1 MiB");
    std::array<char, kBlock> h{};
    std::memcpy(h.data(), f.name.data(), f.name.size());              // name[100]
    Octal(h.data() + 100, 8, static_cast<unsigned>(f.mode) & 07777);  // mode
    Octal(h.data() + 108, 8, 0);                                      // uid
    Octal(h.data() + 116, 8, 0);                                      // gid
    Octal(h.data() + 124, 12, f.content.size());                      // size
    Octal(h.data() + 136, 12, 0);                                     // mtime
    h[156] = '0';                                                     // typeflag: regular file
    std::memcpy(h.data() + 257, "ustar", 6);                          // magic "ustar\0"
    std::memcpy(h.data() + 263, "00", 2);                             // version
    std::memcpy(h.data() + 265, "root", 4);                           // uname
    std::memcpy(h.data() + 297, "root", 4);                           // gname
    // The checksum is computed with its own field as eight spaces.
    std::memset(h.data() + 148, ' ', 8);
    unsigned sum = 0;
    for (char c : h) sum += static_cast<unsigned char>(c);
    std::snprintf(h.data() + 148, 8, "%06o", sum);  // six digits, NUL, then the space kept
    h[155] = ' ';
    out.append(h.data(), h.size());
    out.append(f.content);
    out.append((kBlock - f.content.size() % kBlock) % kBlock, '\0');
  }
  out.append(2 * kBlock, '\0');  // end of archive
  return out;
}

}  // namespace lattice::runtime::docker
