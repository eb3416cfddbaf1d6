#include "templates/spec_storage.h"

#include <gtest/gtest.h>

namespace lattice::templates {
namespace {

RenderedWorkload Full() {
  RenderedWorkload s;
  s.image = "lattice/postgres:15";
  s.env = {"POSTGRES_USER=u", "POSTGRES_PASSWORD_FILE=/run/secrets/postgres_password"};
  s.command = {"postgres", "-c", "fsync=on"};
  s.ports = {{"postgres", 5432, "tcp", "postgres", 28800}};
  s.volumes = {{"data", "/var/lib/postgresql/data"}};
  s.memory_mb = 512;
  s.cpus = 1.5;
  s.readiness = {Readiness::Kind::kPostgres, 5432, "", "u", "pw", "db"};
  s.confinement = Confinement{{"CHOWN", "SETUID"}, "", true, {"/tmp"}};
  s.secret_files = {{"postgres_password", "pw"}};
  s.restore = RestoreSource{{"https://s3.example", "b", "eu", "p/wl_0", "AK", "SK", "", 0},
                            "bk_1",
                            "2026-12-07 08:00:00.000000+00"};
  return s;
}

TEST(SpecStorage, RoundTripsEveryMemberInTheCurrentFormat) {
  const std::string text = EncodeStoredSpec(Full());
  EXPECT_NE(text.find("\"format\":1"), std::string::npos) << text;
  auto back = DecodeStoredSpec(text);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->format, kSpecFormat);
  EXPECT_EQ(EncodeStoredSpec(back->spec), text);  // nothing lost on the way
  EXPECT_EQ(back->spec.ports[0].idle_timeout_s, 28800);
  EXPECT_EQ(back->spec.readiness.kind, Readiness::Kind::kPostgres);
  ASSERT_TRUE(back->spec.confinement.has_value());
  EXPECT_TRUE(back->spec.confinement->read_only_rootfs);
  ASSERT_TRUE(back->spec.restore.has_value());
  EXPECT_EQ(back->spec.restore->target.secret_key, "SK");
  EXPECT_EQ(back->spec.restore->target_time, "2026-12-07 08:00:00.000000+00");
  EXPECT_EQ(back->spec.restore->kind, BackupKind::kPostgres);
}

TEST(SpecStorage, APortsProbeMarkerIsKeptAndOptional) {
  RenderedWorkload s = Full();
  s.ports.push_back({"port-8080", 8080, "tcp", "tcp", 0, "http"});
  auto back = DecodeStoredSpec(EncodeStoredSpec(s));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->spec.ports[0].probe, "");  // no marker: not written, read as none
  EXPECT_EQ(back->spec.ports[1].probe, "http");
  EXPECT_EQ(EncodeStoredSpec(Full()).find("probe"), std::string::npos);
}

TEST(SpecStorage, APortsPublishMarkerIsKeptAndOptional) {
  RenderedWorkload s = Full();
  s.ports.push_back({"port-8080", 8080, "tcp", "tcp", 0, "", true});
  auto back = DecodeStoredSpec(EncodeStoredSpec(s));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_FALSE(back->spec.ports[0].publish);  // not written, read as not published
  EXPECT_TRUE(back->spec.ports[1].publish);
  EXPECT_EQ(EncodeStoredSpec(Full()).find("publish"), std::string::npos);
}

TEST(SpecStorage, KeepsTheKindOfAVolumeSnapshotRestore) {
  RenderedWorkload s = Full();
  s.restore->kind = BackupKind::kVolume;
  s.restore->target_time.clear();
  const std::string text = EncodeStoredSpec(s);
  EXPECT_NE(text.find("\"kind\":\"volume\""), std::string::npos) << text;
  auto back = DecodeStoredSpec(text);
  ASSERT_TRUE(back.ok()) << back.error().message;
  ASSERT_TRUE(back->spec.restore.has_value());
  EXPECT_EQ(back->spec.restore->kind, BackupKind::kVolume);
  EXPECT_EQ(EncodeStoredSpec(back->spec), text);
}

TEST(SpecStorage, KeepsARestoreInPlacesEpochAndAVerifiedSourceAndOmitsTheirDefaults) {
  RenderedWorkload s = Full();
  const std::string plain = EncodeStoredSpec(s);
  EXPECT_EQ(plain.find("volume_epoch"), std::string::npos) << "0 is left out: old rows unchanged";
  EXPECT_EQ(plain.find("verified"), std::string::npos) << plain;
  s.volume_epoch = 3;
  s.restore->verified = true;
  const std::string text = EncodeStoredSpec(s);
  auto back = DecodeStoredSpec(text);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->spec.volume_epoch, 3);
  EXPECT_TRUE(back->spec.restore->verified);
  EXPECT_EQ(EncodeStoredSpec(back->spec), text);
  std::string negative = text;
  negative.replace(negative.find("\"volume_epoch\":3"), 16, "\"volume_epoch\":-1");
  EXPECT_FALSE(DecodeStoredSpec(negative).ok()) << negative;
}

TEST(SpecStorage, ReadsRowsWrittenBeforeTheFormatExisted) {
  // What the link codec wrote into spec_enc before storage had its own format.
  auto legacy = DecodeStoredSpec(
      R"({"image":"lattice/busybox:dev","env":["A=1"],"command":["sleep","9"],)"
      R"("ports":[{"name":"port-80","container_port":80,"protocol":"tcp","scheme":"tcp"}],)"
      R"("volumes":[],"memory_mb":0,"cpus":0,"readiness":{"kind":"running","port":0,)"
      R"("path":"","username":"","password":"","database":""}})");
  ASSERT_TRUE(legacy.ok()) << legacy.error().message;
  EXPECT_EQ(legacy->format, 0);
  EXPECT_EQ(legacy->spec.image, "lattice/busybox:dev");
  EXPECT_EQ(legacy->spec.ports[0].container_port, 80);
  EXPECT_FALSE(legacy->spec.confinement.has_value());  // filled in from the template on assign
  // Rewritten, it is format 1 and says the same.
  auto rewritten = DecodeStoredSpec(EncodeStoredSpec(legacy->spec));
  ASSERT_TRUE(rewritten.ok());
  EXPECT_EQ(rewritten->format, kSpecFormat);
  EXPECT_EQ(rewritten->spec.command, legacy->spec.command);
}

TEST(SpecStorage, RefusesANewerFormatAndMalformedRows) {
  auto newer = DecodeStoredSpec(R"({"format":2,"image":"x"})");
  ASSERT_FALSE(newer.ok());
  EXPECT_NE(newer.error().message.find("newer version"), std::string::npos);
  EXPECT_FALSE(DecodeStoredSpec("[1,2]").ok());
  EXPECT_FALSE(DecodeStoredSpec(R"({"format":1,"ports":[1]})").ok());
  EXPECT_FALSE(DecodeStoredSpec(R"({"format":1,"env":"A=1"})").ok());
  EXPECT_FALSE(DecodeStoredSpec(R"({"format":1,"readiness":{"kind":"psychic"}})").ok());
}

}  // namespace
}  // namespace lattice::templates
