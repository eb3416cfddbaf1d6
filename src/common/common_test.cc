#include <gtest/gtest.h>

#include "common/clock.h"
#include "common/json_strict.h"
#include "common/json_util.h"
#include "common/random.h"
#include "common/states.h"

namespace lattice {
namespace {

TEST(Random, TokensAreUniqueAndUrlSafe) {
  InitCrypto();
  const std::string a = RandomToken(32), b = RandomToken(32);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.size(), 43u);
  EXPECT_EQ(a.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos);
}

TEST(Random, Base64RoundTripAndRejectsGarbage) {
  std::string out;
  ASSERT_TRUE(Base64UrlDecode(Base64UrlEncode("hello\x01\xff"), out));
  EXPECT_EQ(out, "hello\x01\xff");
  EXPECT_FALSE(Base64UrlDecode("not base64!", out));
}

TEST(Random, IdsHavePrefix) {
  const std::string id = NewId("usr");
  EXPECT_EQ(id.rfind("usr_", 0), 0u);
  EXPECT_EQ(id.size(), 24u);
}

TEST(Clock, FormatsRfc3339) {
  EXPECT_EQ(FormatTimestamp(0), "1970-01-01T00:00:00Z");
}

TEST(Clock, ParsesRfc3339WithAZoneOnly) {
  EXPECT_EQ(ParseTimestampMicros("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ParseTimestampMicros("2026-12-07T08:00:00Z"), 1796630400LL * 1'000'000);
  EXPECT_EQ(ParseTimestampMicros("2026-12-07 09:30:00.25+01:30"),
            1796630400LL * 1'000'000 + 250'000);
  EXPECT_EQ(ParseTimestampMicros("2026-12-07T07:00:00.123456789-01:00"),
            1796630400LL * 1'000'000 + 123'456);
  for (const char* bad : {"", "2026-12-07T08:00:00", "2026-12-07", "2026-02-31T00:00:00Z",
                          "2026-12-07T24:00:00Z", "2026-12-07T08:00:00Zjunk",
                          "2026-12-07T08:00:00.Z", "2026-12-07T08:00:00+0100", "yesterday"})
    EXPECT_EQ(ParseTimestampMicros(bad), std::nullopt) << bad;
  EXPECT_EQ(ParseTimestampMicros("2999-01-01T00:00:00Z"), 32472144000LL * 1'000'000);
}

TEST(Clock, NanosecondTimestampsRoundTrip) {
  // The container engine's RFC3339Nano drops trailing zeros.
  EXPECT_EQ(ParseTimestampNanos("2026-12-07T08:00:00.1234Z"),
            1796630400LL * 1'000'000'000 + 123'400'000);
  EXPECT_EQ(ParseTimestampNanos("2026-12-07T08:00:00.123456789Z"),
            1796630400LL * 1'000'000'000 + 123'456'789);
  EXPECT_EQ(FormatTimestampNanos(1796630400LL * 1'000'000'000 + 7),
            "2026-12-07T08:00:00.000000007Z");
  const std::int64_t t = 1796630400LL * 1'000'000'000 + 123'456'789;
  EXPECT_EQ(ParseTimestampNanos(FormatTimestampNanos(t)), t);
  EXPECT_EQ(ParseTimestampNanos("2999-01-01T00:00:00Z"), std::nullopt);  // past int64 ns
  EXPECT_EQ(ParseTimestampNanos("2026-12-07T08:00:00"), std::nullopt);
}

TEST(Json, ParsesObjectsOnly) {
  EXPECT_TRUE(ParseJsonObject(R"({"a":1})").ok());
  EXPECT_FALSE(ParseJsonObject("[1]").ok());
  EXPECT_FALSE(ParseJsonObject("{").ok());
  std::string deep(100, '[');
  EXPECT_FALSE(ParseJsonObject(deep).ok());
}

TEST(Json, FindsDuplicateKeysAtAnyDepthAndNamesThem) {
  EXPECT_EQ(FindDuplicateKey(R"({"a":1,"b":{"a":2},"c":[{"a":1},{"a":2}]})"), std::nullopt);
  EXPECT_EQ(FindDuplicateKey(R"({"role":"user","role":"admin"})"), "role");
  EXPECT_EQ(FindDuplicateKey(R"({"resources":{"cpus":1,"memory_mb":2,"cpus":3}})"),
            "resources.cpus");
  EXPECT_EQ(FindDuplicateKey(R"({"ports":[80,{"port":1},{"port":2,"port":3}]})"), "ports[2].port");
  EXPECT_EQ(FindDuplicateKey(R"({"a":[[1,2],[{"x":1,"x":1}]]})"), "a[1][0].x");
  // Equal after unescaping is equal.
  EXPECT_EQ(FindDuplicateKey(R"({"ab":1,"\u0061b":2})"), "ab");
  EXPECT_EQ(FindDuplicateKey("{"), std::nullopt);  // malformed: the parser says so

  auto dup = ParseJsonObject(R"({"email":"a@b.c","password":"x","email":"root@b.c"})");
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, ErrorCode::kInvalidArgument);
  ASSERT_EQ(dup.error().fields.size(), 1u);
  EXPECT_EQ(dup.error().fields[0].field, "email");
}

TEST(Json, RefusesUnknownMembersOfNestedObjects) {
  auto obj = ParseJsonObject(R"({"a":1,"x":2,"n":{"b":1,"y":2}})");
  ASSERT_TRUE(obj.ok());
  FieldReader r(*obj);
  r.RefuseUnknown({"a", "n"});
  r.RefuseUnknown(obj->at("n").as_object(), "n.", {"b"});
  ASSERT_EQ(r.ToError().fields.size(), 2u);
  EXPECT_EQ(r.ToError().fields[0].field, "x");
  EXPECT_EQ(r.ToError().fields[1].field, "n.y");
}

TEST(Json, FieldReaderCollectsEveryError) {
  auto obj = ParseJsonObject(R"({"email": 3})");
  ASSERT_TRUE(obj.ok());
  FieldReader r(*obj);
  r.RequiredString("email");
  r.RequiredString("password");
  ASSERT_FALSE(r.ok());
  const Error e = r.ToError();
  ASSERT_EQ(e.fields.size(), 2u);
  EXPECT_EQ(e.fields[0].field, "email");
  EXPECT_EQ(e.fields[0].message, "must be a string");
  EXPECT_EQ(e.fields[1].field, "password");
}

}  // namespace
}  // namespace lattice

#include "common/secretbox.h"

namespace lattice {
namespace {

TEST(Secretbox, RoundTripAndTamperDetection) {
  InitCrypto();
  const std::string key(32, 'k');
  const std::string sealed = Seal("the password", key);
  EXPECT_EQ(sealed.find("the password"), std::string::npos);
  EXPECT_NE(Seal("the password", key), sealed);  // fresh nonce each time
  auto opened = Open(sealed, key);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(*opened, "the password");
  std::string tampered = sealed;
  tampered.back() ^= 1;
  EXPECT_FALSE(Open(tampered, key).ok());
  EXPECT_FALSE(Open(sealed, std::string(32, 'x')).ok());
  EXPECT_FALSE(Open("short", key).ok());
}

TEST(States, EveryStateRoundTripsThroughItsNameAndUnknownNamesAreRefused) {
  for (auto s : {DesiredState::kRunning, DesiredState::kStopped, DesiredState::kDeleted})
    EXPECT_EQ(ParseDesiredState(Name(s)), s);
  for (int i = 0; i <= static_cast<int>(WorkloadStatus::kDeleted); ++i) {
    const auto s = static_cast<WorkloadStatus>(i);
    EXPECT_NE(Name(s), "unknown");
    EXPECT_EQ(ParseWorkloadStatus(Name(s)), s);
  }
  for (auto s : {NodeStatus::kReady, NodeStatus::kDown, NodeStatus::kDraining})
    EXPECT_EQ(ParseNodeStatus(Name(s)), s);
  // The names are the wire and SQL contract: pinned here.
  EXPECT_EQ(Name(WorkloadStatus::kPending), "pending");
  EXPECT_EQ(Name(WorkloadStatus::kDeleting), "deleting");
  EXPECT_EQ(Name(DesiredState::kStopped), "stopped");
  EXPECT_EQ(Name(NodeStatus::kReady), "ready");
  EXPECT_FALSE(ParseWorkloadStatus("Running"));
  EXPECT_FALSE(ParseWorkloadStatus(""));
  EXPECT_FALSE(ParseDesiredState("pending"));
  EXPECT_FALSE(ParseNodeStatus("up"));
  for (auto s : {BackupStatus::kRunning, BackupStatus::kSucceeded, BackupStatus::kFailed})
    EXPECT_EQ(ParseBackupStatus(Name(s)), s);
  for (auto s : {VerifyStatus::kPending, VerifyStatus::kVerified, VerifyStatus::kFailed,
                 VerifyStatus::kSkipped})
    EXPECT_EQ(ParseVerifyStatus(Name(s)), s);
  EXPECT_EQ(Name(BackupStatus::kSucceeded), "succeeded");
  EXPECT_EQ(Name(VerifyStatus::kVerified), "verified");
  EXPECT_FALSE(ParseBackupStatus("ok"));
  EXPECT_FALSE(ParseVerifyStatus("running"));
  for (auto k : {BackupKind::kPostgres, BackupKind::kVolume})
    EXPECT_EQ(ParseBackupKind(Name(k)), k);
  EXPECT_EQ(BackupKindOf("postgres"), BackupKind::kPostgres);
  EXPECT_EQ(BackupKindOf("minio"), BackupKind::kVolume);
  EXPECT_EQ(BackupKindOf("custom"), BackupKind::kVolume);
  EXPECT_FALSE(BackupKindOf("redis"));
  for (auto s : {EndpointState::kUnknown, EndpointState::kReachable, EndpointState::kUnreachable})
    EXPECT_EQ(ParseEndpointState(Name(s)), s);
  EXPECT_EQ(Name(EndpointState::kUnreachable), "unreachable");
  EXPECT_FALSE(ParseEndpointState("down"));
}

}  // namespace
}  // namespace lattice
