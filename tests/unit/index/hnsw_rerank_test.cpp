// The SQ8 walk's rerank: rows are rescored with f32 distances only while
// their rounding-error lower bound can still beat the k-th true distance,
// and the answer is still the exact k best of what the walk found.
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include <doctest/doctest.h>

#include "index/flat.h"
#include "index/hnsw.h"
#include "index/scorer.h"
#include "index/vector_store.h"
#include "iqdb/iqdb.hpp"

namespace iqdb::index {
namespace {

TEST_CASE("hnsw sq8 rerank: a walk that sees every row answers exactly, for L2 and L1") {
  // Non-integer values on a wide range, so every row and query carries a
  // rounding error and the bound decides which rows are rescored.
  constexpr size_t kDim = 24, kRows = 400, kQueries = 40;
  for (const Metric metric : {Metric::kL2, Metric::kL1}) {
    CAPTURE(metric_name(metric));
    VectorStore store(kDim, metric);
    std::mt19937 rng(5);
    std::normal_distribution<float> normal(0.0f, 30.0f);
    std::vector<uint32_t> slots;
    std::vector<float> row(kDim);
    for (size_t i = 0; i < kRows; ++i) {
      for (float& v : row) v = normal(rng);
      auto r = store.upsert(VectorId(i), row, nullptr);
      REQUIRE(r.ok());
      slots.push_back(r->slot);
    }
    HnswIndex::Options options;
    options.sq8_min_rows = 16;
    HnswIndex index(store, HnswConfig{}, options);
    REQUIRE(index.insert_batch(slots).ok());
    REQUIRE(index.uses_sq8());
    for (size_t q = 0; q < kQueries; ++q) {
      for (float& v : row) v = normal(rng);
      QueryScorer scorer(store, row.data());
      for (const size_t k : {size_t{1}, size_t{7}, size_t{10}, size_t{33}}) {
        CAPTURE(k);
        // ef = every row: the walk's pool holds the whole graph.
        const auto got = index.search(scorer, k, kRows, nullptr);
        const auto want = flat_search(scorer, k, nullptr);
        REQUIRE(got.size() == want.size());
        for (size_t i = 0; i < got.size(); ++i) {
          CHECK(got[i].slot == want[i].slot);
          CHECK(got[i].distance == doctest::Approx(want[i].distance).epsilon(1e-5));
        }
      }
    }
  }
}

}  // namespace
}  // namespace iqdb::index
