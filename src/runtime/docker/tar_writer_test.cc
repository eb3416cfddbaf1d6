#include "runtime/docker/tar_writer.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

namespace lattice::runtime::docker {
namespace {

std::string RunCapture(const std::string& cmd) {
  std::string out;
  std::unique_ptr<FILE, int (*)(FILE*)> p(popen(cmd.c_str(), "r"), pclose);
  if (!p) return out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p.get())) out += buf;
  return out;
}

TEST(TarWriter, GnuTarReadsNamesModesOwnersAndContents) {
  auto tar =
      TarArchive({{"postgres_password", "s3cret", 0400}, {"big", std::string(1000, 'x'), 0444}});
  ASSERT_TRUE(tar.ok()) << tar.error().message;
  EXPECT_EQ(tar->size() % 512, 0u);
  const auto dir =
      std::filesystem::temp_directory_path() / ("lattice-tar-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto file = dir / "a.tar";
  std::ofstream(file, std::ios::binary) << *tar;
  const std::string listing = RunCapture("tar -tvf " + file.string() + " 2>&1");
  EXPECT_NE(listing.find("-r-------- root/root         6"), std::string::npos) << listing;
  EXPECT_NE(listing.find("postgres_password"), std::string::npos) << listing;
  EXPECT_NE(listing.find("-r--r--r-- root/root      1000"), std::string::npos) << listing;
  EXPECT_EQ(RunCapture("tar -xOf " + file.string() + " postgres_password"), "s3cret");
  std::filesystem::remove_all(dir);
}

TEST(TarWriter, RefusesNamesThatAreNotPlainFileNames) {
  for (const std::string& bad :
       std::vector<std::string>{"", "a/b", "..", ".", std::string(100, 'n')}) {
    EXPECT_FALSE(TarArchive({{bad, "x", 0400}}).ok()) << bad;
  }
  EXPECT_FALSE(TarArchive({{"f", std::string((1 << 20) + 1, 'x'), 0400}}).ok());
}

}  // namespace
}  // namespace lattice::runtime::docker
