// The SQ8 walk's rerank: rows are rescored with f32 distances only while
// their rounding-error lower bound can still beat the k-th true distance,
// and the answer is still the exact k best of what the walk found.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include <doctest/doctest.h>

#include "index/flat.h"
#include "index/hnsw.h"
#include "index/hnsw_sq8.h"
#include "index/scorer.h"
#include "index/vector_store.h"
#include "iqdb/iqdb.hpp"

namespace iqdb::index {
namespace {

// Upserts `rows` rows of normal(rng) draws into `store`; returns their slots.
std::vector<uint32_t> fill(VectorStore& store, size_t rows, std::mt19937& rng,
                           std::normal_distribution<float>& normal) {
  std::vector<uint32_t> slots;
  std::vector<float> row(store.dim());
  for (size_t i = 0; i < rows; ++i) {
    for (float& v : row) v = normal(rng);
    auto r = store.upsert(VectorId(i), row, nullptr);
    REQUIRE(r.ok());
    slots.push_back(r->slot);
  }
  return slots;
}

TEST_CASE("hnsw sq8 rerank: a walk that sees every row answers exactly, for L2 and L1") {
  // Non-integer values on a wide range, so every row and query carries a
  // rounding error and the bound decides which rows are rescored.
  constexpr size_t kDim = 24, kRows = 400, kQueries = 40;
  for (const Metric metric : {Metric::kL2, Metric::kL1}) {
    CAPTURE(metric_name(metric));
    VectorStore store(kDim, metric);
    std::mt19937 rng(5);
    std::normal_distribution<float> normal(0.0f, 30.0f);
    const std::vector<uint32_t> slots = fill(store, kRows, rng, normal);
    std::vector<float> row(kDim);
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

TEST_CASE("hnsw sq8 rerank: the query-to-grid bound is a lower bound, tighter than the code one") {
  // The rerank skips a row whose bound exceeds the k-th true distance, so a
  // bound above a true distance would drop a true neighbour.
  constexpr size_t kDim = 37, kRows = 300, kQueries = 30;
  for (const Metric metric : {Metric::kL2, Metric::kL1}) {
    CAPTURE(metric_name(metric));
    VectorStore store(kDim, metric);
    std::mt19937 rng(11);
    std::normal_distribution<float> normal(3.0f, 20.0f);
    const std::vector<uint32_t> slots = fill(store, kRows, rng, normal);
    std::vector<float> row(kDim);
    hnsw::Sq8Codes codes(kDim, metric);
    // Trained on half the rows: the others may fall outside the grid and
    // clamp, which the row's radius must cover too.
    codes.train(store, std::span<const uint32_t>(slots.data(), kRows / 2));
    REQUIRE(codes.reserve(static_cast<uint32_t>(store.slot_end())).ok());
    for (uint32_t slot : slots) codes.encode(store, slot);
    std::vector<int16_t> qcodes(codes.kernel_dim());
    size_t tighter = 0, positive = 0;
    for (size_t q = 0; q < kQueries; ++q) {
      for (float& v : row) v = normal(rng);
      const float qr = codes.encode_query(row.data(), qcodes.data());
      for (uint32_t slot : slots) {
        double truth = 0;
        const float* x = store.row(slot);
        for (size_t i = 0; i < kDim; ++i) {
          const double d = double(row[i]) - double(x[i]);
          truth += metric == Metric::kL2 ? d * d : std::fabs(d);
        }
        const float bound = codes.query_lower_bound(row.data(), slot);
        CHECK(double(bound) <= truth);
        if (bound > 0.0f) ++positive;
        const float code_bound =
            codes.ranking_lower_bound(codes.distance(qcodes.data(), slot), slot, qr);
        if (bound > code_bound) ++tighter;
      }
    }
    // Rows are spread far beyond their rounding error: nearly every bound
    // is informative, and leaving out the query's rounding makes it tighter.
    CHECK(positive > kRows * kQueries * 9 / 10);
    CHECK(tighter > kRows * kQueries * 9 / 10);
  }
  hnsw::Sq8Codes dot(8, Metric::kDot);
  const float query[8] = {};
  CHECK(dot.query_lower_bound(query, 0) == -std::numeric_limits<float>::infinity());
}

}  // namespace
}  // namespace iqdb::index
