// The exact scan of a filter's matches on the index's SQ8 codes: whatever
// the metric, data (rows with rounding error, or an exact whole-number
// grid), selectivity, and whether the filter's exact set is known, its
// answer is the exact filtered k nearest, as a scan of the f32 rows finds
// them; matching rows not in the graph yet and removed rows are handled.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include <doctest/doctest.h>

#include "index/flat.h"
#include "index/hnsw.h"
#include "index/scorer.h"
#include "index/vector_store.h"
#include "iqdb/iqdb.hpp"
#include "util/bitmap.h"

namespace iqdb::index {
namespace {

constexpr size_t kDim = 24, kRows = 1200, kQueries = 12;

class MaskPredicate : public SlotPredicate {
 public:
  MaskPredicate(const std::vector<uint8_t>& mask, bool with_set)
      : mask_(mask), with_set_(with_set) {
    for (size_t i = 0; i < mask.size(); ++i) {
      if (mask[i] != 0) set_.set(i);
    }
  }
  bool matches(uint32_t slot) const override { return slot < mask_.size() && mask_[slot] != 0; }
  const util::Bitmap* matching_slots() const override { return with_set_ ? &set_ : nullptr; }

 private:
  std::vector<uint8_t> mask_;
  util::Bitmap set_;
  bool with_set_;
};

// Whole numbers 0..255 (an exact grid for L2 and L1), or wide Gaussian
// values that every code rounds.
std::vector<float> make_row(std::mt19937& rng, bool grid) {
  std::vector<float> row(kDim);
  std::normal_distribution<float> normal(0.0f, 30.0f);
  for (float& v : row) v = grid ? static_cast<float>(rng() % 256) : normal(rng);
  return row;
}

void check_same(const std::vector<util::Candidate>& got, const std::vector<util::Candidate>& want) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    CHECK(got[i].slot == want[i].slot);
    CHECK(got[i].distance == doctest::Approx(want[i].distance).epsilon(1e-5));
  }
}

TEST_CASE("hnsw scan of the matches: exact filtered k nearest for every metric and selectivity") {
  for (const Metric metric : {Metric::kL2, Metric::kL1, Metric::kCosine, Metric::kDot}) {
    for (const bool grid : {false, true}) {
      CAPTURE(metric_name(metric));
      CAPTURE(grid);
      VectorStore store(kDim, metric);
      std::mt19937 rng(7);
      std::vector<uint32_t> slots;
      for (size_t i = 0; i < kRows; ++i) {
        auto r = store.upsert(VectorId(i), make_row(rng, grid), nullptr);
        REQUIRE(r.ok());
        slots.push_back(r->slot);
      }
      HnswIndex::Options options;
      options.sq8_min_rows = 16;
      HnswIndex index(store, HnswConfig{}, options);
      // A sixth of the rows stay out of the graph (stored, not indexed yet).
      const size_t indexed = kRows - kRows / 6;
      REQUIRE(index.insert_batch(std::span(slots).first(indexed)).ok());
      const bool codes = metric != Metric::kCosine && metric != Metric::kDot;
      if (codes) REQUIRE(index.uses_sq8());
      // Removed rows must not come back: take a few out of the store.
      for (size_t i = 0; i < kRows; i += 97) store.remove(VectorId(i));
      for (const size_t matches : {size_t{1}, kRows / 100, kRows / 10, kRows / 2, kRows}) {
        CAPTURE(matches);
        std::vector<uint32_t> order(kRows);
        std::iota(order.begin(), order.end(), 0u);
        std::mt19937 pick(static_cast<uint32_t>(matches));
        std::shuffle(order.begin(), order.end(), pick);
        std::vector<uint8_t> mask(store.slot_end(), 0);
        for (size_t i = 0; i < matches; ++i) mask[slots[order[i]]] = 1;
        for (const bool with_set : {false, true}) {
          CAPTURE(with_set);
          const MaskPredicate filter(mask, with_set);
          for (size_t q = 0; q < kQueries; ++q) {
            const std::vector<float> query = make_row(rng, grid && q % 2 == 0);
            QueryScorer scorer(store, query.data());
            for (const size_t k : {size_t{1}, size_t{10}, size_t{40}}) {
              CAPTURE(k);
              check_same(index.scan_matches(scorer, k, &filter), flat_search(scorer, k, &filter));
            }
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace iqdb::index
