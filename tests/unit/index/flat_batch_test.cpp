// Tests for src/index/flat_batch: the batched exact search returns exactly
// what one-at-a-time flat_search returns (same slots, order and distance
// bits) for every metric, with exact ties, near-ties a rounding error apart,
// removed slots, filters, zero vectors, huge norms, every batch size around
// the kernel's panel width, and 1 or many threads; and Database::search_batch
// agrees with Database::search.

#include "index/flat_batch.h"

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "iqdb/iqdb.hpp"
#include "index/flat.h"
#include "index/scorer.h"
#include "index/vector_store.h"
#include "kernels/gemm.h"

namespace iqdb::index {
namespace {

constexpr Metric kAllMetrics[] = {Metric::kL2, Metric::kDot, Metric::kCosine, Metric::kL1,
                                  Metric::kHamming};

class EvenSlots final : public SlotPredicate {
 public:
  bool matches(uint32_t slot) const override { return slot % 2 == 0; }
};

class NoSlots final : public SlotPredicate {
 public:
  bool matches(uint32_t) const override { return false; }
};

void fill(VectorStore& store, const std::vector<float>& rows) {
  const size_t dim = store.dim();
  for (size_t i = 0; i < rows.size() / dim; ++i) {
    auto r = store.upsert(VectorId(uint64_t{i}), std::span<const float>(rows.data() + i * dim, dim),
                          nullptr);
    REQUIRE(r.ok());
  }
}

// Batched against one query at a time, bit for bit.
void check_same(const VectorStore& store, const std::vector<float>& queries, size_t k,
                const SlotPredicate* predicate, size_t threads) {
  const size_t dim = store.dim();
  const size_t nq = queries.size() / dim;
  BatchOptions options;
  options.max_threads = threads;
  auto batched = flat_search_batch(store, queries.data(), nq, k, predicate, options);
  REQUIRE(batched.size() == nq);
  for (size_t q = 0; q < nq; ++q) {
    auto want = flat_search(QueryScorer(store, queries.data() + q * dim), k, predicate);
    const auto& got = batched[q];
    REQUIRE_MESSAGE(got.size() == want.size(), "query ", q);
    for (size_t i = 0; i < want.size(); ++i) {
      if (got[i].slot != want[i].slot ||
          std::memcmp(&got[i].distance, &want[i].distance, sizeof(float)) != 0 ||
          got[i].order != want[i].order) {
        FAIL_CHECK("query ", q, " rank ", i, ": got slot ", got[i].slot, " d ", got[i].distance,
                   ", want slot ", want[i].slot, " d ", want[i].distance);
        return;
      }
    }
  }
}

std::vector<float> gaussian(size_t n, std::mt19937& rng, float scale = 1.0f) {
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  return v;
}

// Small integers: many exact ties in every metric.
std::vector<float> small_integers(size_t n, std::mt19937& rng) {
  std::uniform_int_distribution<int> d(0, 2);
  std::vector<float> v(n);
  for (float& x : v) x = float(d(rng));
  return v;
}

TEST_CASE("batched flat search equals one-at-a-time flat search for every metric") {
  std::mt19937 rng(42);
  const size_t panel =
      kernels::active_gemm_kernels().max_panel_vectors * kernels::active_gemm_kernels().lanes;
  for (Metric metric : kAllMetrics) {
    CAPTURE(metric_name(metric));
    for (size_t dim : {size_t{1}, size_t{7}, size_t{64}, size_t{101}}) {
      CAPTURE(dim);
      VectorStore store(dim, metric);
      fill(store,
           metric == Metric::kHamming ? small_integers(700 * dim, rng) : gaussian(700 * dim, rng));
      for (size_t nq : {size_t{1}, size_t{3}, panel - 1, panel, panel + 5}) {
        auto queries =
            metric == Metric::kHamming ? small_integers(nq * dim, rng) : gaussian(nq * dim, rng);
        for (size_t k : {size_t{1}, size_t{10}}) check_same(store, queries, k, nullptr, 0);
      }
    }
  }
}

TEST_CASE("batched flat search breaks exact ties on insertion order like flat search") {
  std::mt19937 rng(5);
  for (Metric metric : kAllMetrics) {
    CAPTURE(metric_name(metric));
    const size_t dim = 24;
    VectorStore store(dim, metric);
    // Small integers and every row inserted three times: many rows at
    // exactly equal distances, broken only by the insertion sequence.
    auto base = small_integers(300 * dim, rng);
    std::vector<float> rows;
    for (int copy = 0; copy < 3; ++copy) rows.insert(rows.end(), base.begin(), base.end());
    fill(store, rows);
    auto queries = small_integers(40 * dim, rng);
    for (size_t k : {size_t{1}, size_t{5}, size_t{50}}) check_same(store, queries, k, nullptr, 0);
  }
}

TEST_CASE("batched flat search ranks near-ties a rounding error apart exactly") {
  std::mt19937 rng(9);
  for (Metric metric : {Metric::kL2, Metric::kDot, Metric::kCosine}) {
    CAPTURE(metric_name(metric));
    const size_t dim = 300;
    VectorStore store(dim, metric);
    // Rows that are copies of a few seeds with one element nudged by a few
    // ulps: their distances to any query differ by about one rounding, which
    // the expanded form cannot order; the recheck must.
    auto seeds = gaussian(8 * dim, rng, 10.0f);
    std::vector<float> rows;
    for (size_t i = 0; i < 600; ++i) {
      const float* s = seeds.data() + (i % 8) * dim;
      std::vector<float> r(s, s + dim);
      float& v = r[(i / 8) % dim];
      for (size_t step = 0; step < (i / 8) % 4; ++step) v = std::nextafter(v, 1e30f);
      rows.insert(rows.end(), r.begin(), r.end());
    }
    fill(store, rows);
    // Queries near the seeds.
    std::vector<float> queries;
    for (size_t q = 0; q < 20; ++q) {
      auto noise = gaussian(dim, rng, 0.01f);
      for (size_t i = 0; i < dim; ++i) queries.push_back(seeds[(q % 8) * dim + i] + noise[i]);
    }
    for (size_t k : {size_t{3}, size_t{40}, size_t{100}}) check_same(store, queries, k, nullptr, 0);
  }
}

TEST_CASE("batched flat search skips removed slots and honours filters") {
  std::mt19937 rng(3);
  EvenSlots even;
  NoSlots none;
  for (Metric metric : kAllMetrics) {
    CAPTURE(metric_name(metric));
    const size_t dim = 33;
    VectorStore store(dim, metric);
    fill(store, gaussian(900 * dim, rng));
    for (uint64_t id = 0; id < 900; id += 7) REQUIRE(store.remove(VectorId(id)) != kNoSlot);
    auto queries = gaussian(30 * dim, rng);
    check_same(store, queries, 10, nullptr, 0);
    check_same(store, queries, 10, &even, 0);
    check_same(store, queries, 10, &none, 0);
    // k above the number of rows that qualify.
    check_same(store, queries, 2000, &even, 0);
  }
}

TEST_CASE("batched flat search gives the same answer on one thread and on many") {
  std::mt19937 rng(17);
  for (Metric metric : {Metric::kL2, Metric::kCosine}) {
    const size_t dim = 50;
    VectorStore store(dim, metric);
    fill(store, gaussian(5000 * dim, rng));
    auto queries = gaussian(70 * dim, rng);
    check_same(store, queries, 10, nullptr, 1);
    check_same(store, queries, 10, nullptr, 2);
    check_same(store, queries, 10, nullptr, 0);
  }
}

TEST_CASE("batched flat search handles zero vectors and norms too large for the expanded form") {
  std::mt19937 rng(23);
  for (Metric metric : {Metric::kL2, Metric::kDot, Metric::kCosine}) {
    CAPTURE(metric_name(metric));
    const size_t dim = 16;
    VectorStore store(dim, metric);
    auto rows = gaussian(200 * dim, rng);
    std::fill(rows.begin(), rows.begin() + 3 * dim, 0.0f);  // three zero rows
    fill(store, rows);
    auto queries = gaussian(10 * dim, rng);
    std::fill(queries.begin(), queries.begin() + dim, 0.0f);  // a zero query
    check_same(store, queries, 10, nullptr, 0);
    // A huge row: |x|^2 overflows float, so the batch falls back.
    std::vector<float> huge(dim, 3e19f);
    REQUIRE(store.upsert(VectorId(uint64_t{9999}), huge, nullptr).ok());
    check_same(store, queries, 10, nullptr, 0);
  }
}

TEST_CASE("batched flat search on an empty store returns empty lists") {
  VectorStore store(8, Metric::kL2);
  std::vector<float> queries(5 * 8, 1.0f);
  auto out = flat_search_batch(store, queries.data(), 5, 3, nullptr);
  REQUIRE(out.size() == 5);
  for (const auto& r : out) CHECK(r.empty());
}

TEST_CASE("Database::search_batch on the flat index equals search, query by query") {
  std::mt19937 rng(31);
  for (Metric metric : kAllMetrics) {
    CAPTURE(metric_name(metric));
    const size_t dim = 20;
    auto db = Database::open_in_memory(dim, metric);
    REQUIRE(db.ok());
    auto rows =
        metric == Metric::kHamming ? small_integers(800 * dim, rng) : gaussian(800 * dim, rng);
    std::vector<VectorId> ids;
    for (uint64_t i = 0; i < 800; ++i) ids.emplace_back(i);
    REQUIRE(db->upsert_batch(ids, rows).ok());
    auto queries =
        metric == Metric::kHamming ? small_integers(50 * dim, rng) : gaussian(50 * dim, rng);
    auto batch = db->search_batch(queries, 7);
    REQUIRE(batch.ok());
    REQUIRE(batch->size() == 50);
    for (size_t q = 0; q < 50; ++q) {
      auto one = db->search(std::span<const float>(queries.data() + q * dim, dim), 7);
      REQUIRE(one.ok());
      REQUIRE((*batch)[q].size() == one->size());
      for (size_t i = 0; i < one->size(); ++i) {
        CHECK((*batch)[q][i].id == (*one)[i].id);
        CHECK((*batch)[q][i].distance == (*one)[i].distance);
      }
    }
  }
}

}  // namespace
}  // namespace iqdb::index
