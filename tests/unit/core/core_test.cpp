#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <unordered_set>

#include "iqdb/iqdb.hpp"

using namespace iqdb;

TEST_CASE("OK status costs nothing and prints OK") {
  Status s;
  CHECK(s.ok());
  CHECK(s.code() == StatusCode::kOk);
  CHECK(s.message().empty());
  CHECK(s.to_string() == "OK");
  CHECK(Status::OK().ok());
}

TEST_CASE("error status keeps its code and message through copies") {
  Status s = Status::Corruption("bad checksum in section 3");
  Status copy = s;
  CHECK_FALSE(copy.ok());
  CHECK(copy.code() == StatusCode::kCorruption);
  CHECK(copy.to_string() == "Corruption: bad checksum in section 3");
  Status moved = std::move(copy);
  CHECK(moved.message() == "bad checksum in section 3");
}

TEST_CASE("Result holds a value or the status explaining its absence") {
  Result<int> good = 7;
  CHECK(good.ok());
  CHECK(static_cast<bool>(good));
  CHECK(*good == 7);
  CHECK(good.status().ok());
  Result<int> bad = Status::NotFound("no such id");
  CHECK_FALSE(bad.ok());
  CHECK(bad.status().code() == StatusCode::kNotFound);
  Result<int> from_ok_status = Status::OK();
  CHECK_FALSE(from_ok_status.ok());  // a Result cannot claim success without a value
}

TEST_CASE("VectorId: integer and byte ids, hex printing, ordering and hashing") {
  VectorId numeric = 7;
  CHECK(numeric.is_u64());
  CHECK(numeric.as_u64() == 7);
  CHECK(numeric.to_string() == "7");
  auto key = VectorId::from_bytes(std::string("\xde\xad", 2));
  REQUIRE(key.ok());
  CHECK_FALSE(key->is_u64());
  CHECK(key->to_string() == "dead");
  CHECK_FALSE(VectorId::from_bytes("").ok());
  CHECK(VectorId::from_bytes("").status().code() == StatusCode::kInvalidArgument);
  CHECK_FALSE(VectorId::from_bytes(std::string(VectorId::kMaxBytes + 1, 'x')).ok());
  // A byte id "7" is not the integer id 7.
  CHECK_FALSE(*VectorId::from_bytes("7") == VectorId(7));
  CHECK(VectorId(3) < VectorId(4));
  CHECK(VectorId(999) < *VectorId::from_bytes("a"));
  std::unordered_set<VectorId> set{VectorId(1), VectorId(2), *VectorId::from_bytes("k")};
  CHECK(set.count(VectorId(2)) == 1);
  CHECK(set.count(*VectorId::from_bytes("k")) == 1);
  CHECK(set.count(VectorId(3)) == 0);
}

TEST_CASE("Value keeps int and double apart and prints readably") {
  CHECK(Value(1).is_int());
  CHECK(Value(1.0).is_double());
  CHECK_FALSE(Value(1) == Value(1.0));
  CHECK(Value("x").is_string());
  CHECK(Value(true).is_bool());
  CHECK(Value().is_null());
  CHECK(Value(nullptr).is_null());
  CHECK(Value(2.0).to_string() == "2.0");
  CHECK(Value("a\"b").to_string() == "\"a\\\"b\"");
  CHECK(Value(int64_t{-5}).to_string() == "-5");
}

TEST_CASE("Metadata is an ordered map with get, set and equality (API.md example)") {
  Metadata meta{{"title", "intro"}, {"year", 2026}};
  REQUIRE(meta.get("year") != nullptr);
  CHECK(*meta.get("year") == Value(2026));
  CHECK(meta.get("missing") == nullptr);
  CHECK(meta.size() == 2);
  meta.set("year", 2027);
  CHECK(*meta.get("year") == Value(2027));
  std::vector<std::string> keys;
  for (const auto& [k, v] : meta) keys.push_back(k);
  CHECK(keys == std::vector<std::string>{"title", "year"});
  CHECK(meta == Metadata{{"year", 2027}, {"title", "intro"}});
}

TEST_CASE("metric names parse and print") {
  CHECK(metric_name(Metric::kL2) == "l2");
  CHECK(*parse_metric("euclidean") == Metric::kL2);
  CHECK(*parse_metric("cosine") == Metric::kCosine);
  CHECK(parse_metric("chebyshev").status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("config validation rejects impossible shapes and knobs") {
  CHECK(Config(0, Metric::kL2).validate().code() == StatusCode::kInvalidArgument);
  CHECK(Config(Config::kMaxDim + 1, Metric::kL2).validate().code() == StatusCode::kInvalidArgument);
  CHECK(Config(4, Metric::kL2).validate().ok());
  CHECK_FALSE(Config(4, Metric::kL2).index(HnswConfig{}.with_m(1)).validate().ok());
  CHECK_FALSE(Config(4, Metric::kL2)
                  .fsync(FsyncPolicy::periodic(std::chrono::milliseconds(0)))
                  .validate()
                  .ok());
  CHECK_FALSE(Config(4, Metric::kL2).index(IvfConfig{}.with_n_probes(0)).validate().ok());
  auto cfg = Config(128, Metric::kCosine)
                 .index(HnswConfig{}.with_ef_search(96))
                 .cache(CacheConfig{}.with_capacity(100));
  CHECK(cfg.is_cached());
  CHECK(cfg.index_kind().is_hnsw());
  CHECK(cfg.index_kind().hnsw().ef_search == 96);
}

TEST_CASE("simd_target names the dispatched instruction set") {
  std::string target = simd_target();
  CHECK_FALSE(target.empty());
  auto compiled = simd_compiled_targets();
  CHECK(std::find(compiled.begin(), compiled.end(), target) != compiled.end());
}

TEST_CASE("Value is constructible from every integer type; huge unsigned values become doubles") {
  CHECK(Value(static_cast<signed char>(-3)).as_int() == -3);
  CHECK(Value(static_cast<unsigned char>(200)).as_int() == 200);
  CHECK(Value(static_cast<short>(-7)).as_int() == -7);
  CHECK(Value(static_cast<unsigned short>(65535)).as_int() == 65535);
  CHECK(Value(-5).as_int() == -5);
  CHECK(Value(5u).as_int() == 5);
  CHECK(Value(-6L).as_int() == -6);
  CHECK(Value(6UL).as_int() == 6);
  CHECK(Value(-8LL).as_int() == -8);
  CHECK(Value(uint64_t{9}).as_int() == 9);
  CHECK(Value(int64_t{INT64_MIN}).as_int() == INT64_MIN);
  CHECK(Value(uint64_t{INT64_MAX}).as_int() == INT64_MAX);
  const Value huge(UINT64_MAX);
  REQUIRE(huge.is_double());
  CHECK(huge.as_double() == 18446744073709551616.0);
  CHECK(Value(1.5f).as_double() == 1.5);
  CHECK(Value(true).is_bool());
}
