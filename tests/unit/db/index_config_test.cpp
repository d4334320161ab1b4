// Tests for src/db/index_config: the index kind a database file records.

#include "db/index_config.h"

#include <string>

#include <doctest/doctest.h>

#include "util/coding.h"

namespace iqdb::db {
namespace {

TEST_CASE("index config: every kind and knob round-trips") {
  const IndexKind kinds[] = {
      FlatConfig{},
      HnswConfig{}.with_m(24).with_ef_construction(150).with_ef_search(40).with_seed(7),
      HnswConfig{}.with_quantized_walk(false),
      IvfConfig{}
          .with_n_clusters(64)
          .with_n_probes(5)
          .with_pq(IvfConfig::Pq::k4BitFastScan)
          .with_pq_subvectors(8)
          .with_refine_factor(3)
          .with_seed(9),
  };
  for (const IndexKind& kind : kinds) {
    auto back = decode_index_kind(encode_index_kind(kind), 16);
    REQUIRE_MESSAGE(back.ok(), back.status().to_string());
    CHECK(*back == kind);
  }
}

TEST_CASE("index config: an HNSW record without the walk flag (older files) walks quantized") {
  std::string bytes = encode_index_kind(HnswConfig{}.with_m(12).with_quantized_walk(false));
  bytes.pop_back();  // the flag is the last byte
  auto back = decode_index_kind(bytes, 16);
  REQUIRE(back.ok());
  CHECK(back->hnsw().m == 12);
  CHECK(back->hnsw().quantized_walk);
}

TEST_CASE("index config: bad flags, truncations and trailing bytes are corruption") {
  std::string bytes = encode_index_kind(HnswConfig{});
  std::string bad_flag = bytes;
  bad_flag.back() = 2;
  CHECK(decode_index_kind(bad_flag, 16).status().code() == StatusCode::kCorruption);
  CHECK(decode_index_kind(bytes + "x", 16).status().code() == StatusCode::kCorruption);
  for (size_t cut = 0; cut + 1 < bytes.size(); ++cut) {
    CAPTURE(cut);
    CHECK(decode_index_kind(bytes.substr(0, cut), 16).status().code() == StatusCode::kCorruption);
  }
}

}  // namespace
}  // namespace iqdb::db
