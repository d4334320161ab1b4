// Filtered search against the exact filtered scan, for HNSW and IVF, at
// selectivities from a single matching row to every row: with the search
// widened to cover every row the answer is exactly the scan's; at default
// settings every hit matches, there are min(k, matches) of them, and few
// true neighbours are missed.

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "index/filter_planner.h"
#include "index/flat.h"
#include "index/hnsw.h"
#include "index/ivf.h"
#include "index/scorer.h"
#include "index/vector_store.h"
#include "util/bitmap.h"

namespace iqdb::index {
namespace {

using Pq = IvfConfig::Pq;

constexpr size_t kRows = 3000;
constexpr size_t kDim = 16;
constexpr size_t kK = 10;

// Rows around 25 Gaussian centres; queries come from the same mixture.
std::vector<float> mixture(size_t n, uint32_t seed) {
  std::mt19937 world(5);
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> centres(25 * kDim);
  for (float& v : centres) v = 3.0f * normal(world);
  std::vector<float> rows(n * kDim);
  for (size_t i = 0; i < n; ++i) {
    const float* c = centres.data() + (rng() % 25) * kDim;
    for (size_t d = 0; d < kDim; ++d) rows[i * kDim + d] = c[d] + normal(rng);
  }
  return rows;
}

class SetPredicate : public SlotPredicate {
 public:
  explicit SetPredicate(std::vector<uint8_t> mask) : mask_(std::move(mask)) {}
  bool matches(uint32_t slot) const override { return slot < mask_.size() && mask_[slot] != 0; }

 private:
  std::vector<uint8_t> mask_;
};

// The same with its exact set known, as a filter evaluated on the payload
// index is: planners count it and HNSW may walk its subgraph.
class BitmapPredicate : public SlotPredicate {
 public:
  explicit BitmapPredicate(const std::vector<uint8_t>& mask) {
    for (size_t i = 0; i < mask.size(); ++i) {
      if (mask[i] != 0) set_.set(i);
    }
  }
  bool matches(uint32_t slot) const override { return set_.test(slot); }
  const util::Bitmap* matching_slots() const override { return &set_; }

 private:
  util::Bitmap set_;
};

struct Selectivity {
  std::string name;
  size_t matches;
};
const Selectivity kSelectivities[] = {
    {"1 match", 1},       {"0.1 %", kRows / 1000}, {"1 %", kRows / 100},
    {"10 %", kRows / 10}, {"50 %", kRows / 2},     {"all", kRows},
};

// Exactly `matches` of the store's slots, chosen at random.
// A mask of the `matches` slots nearest the row in slot `centre`: a filter
// that follows the data.
std::vector<uint8_t> nearest_mask(const VectorStore& store, std::span<const uint32_t> slots,
                                  uint32_t centre, size_t matches) {
  QueryScorer around(store, store.row(centre));
  std::vector<std::pair<float, uint32_t>> by_distance;
  for (uint32_t slot : slots) by_distance.emplace_back(around(slot), slot);
  std::sort(by_distance.begin(), by_distance.end());
  std::vector<uint8_t> mask(store.slot_end(), 0);
  for (size_t i = 0; i < matches; ++i) mask[by_distance[i].second] = 1;
  return mask;
}

std::vector<uint8_t> pick_mask(const VectorStore& store, size_t matches, uint32_t seed) {
  std::vector<uint32_t> slots(store.slot_end());
  std::iota(slots.begin(), slots.end(), 0u);
  std::mt19937 rng(seed);
  std::shuffle(slots.begin(), slots.end(), rng);
  std::vector<uint8_t> mask(store.slot_end(), 0);
  for (size_t i = 0; i < matches; ++i) mask[slots[i]] = 1;
  return mask;
}
SetPredicate pick(const VectorStore& store, size_t matches, uint32_t seed) {
  return SetPredicate(pick_mask(store, matches, seed));
}

struct Store {
  VectorStore store{kDim, Metric::kL2};
  std::vector<uint32_t> slots;
  Store() {
    const std::vector<float> rows = mixture(kRows, 11);
    for (size_t i = 0; i < kRows; ++i) {
      auto r = store.upsert(VectorId(i), {rows.data() + i * kDim, kDim}, nullptr);
      REQUIRE(r.ok());
      slots.push_back(r->slot);
    }
  }
};

// `got` holds the same rows as the exact answer, with the same distances.
void check_equal(const std::vector<util::Candidate>& got,
                 const std::vector<util::Candidate>& exact) {
  REQUIRE(got.size() == exact.size());
  for (size_t i = 0; i < got.size(); ++i) {
    CHECK(got[i].distance == doctest::Approx(exact[i].distance).epsilon(1e-5));
  }
  std::vector<uint32_t> a, b;
  for (const auto& c : got) a.push_back(c.slot);
  for (const auto& c : exact) b.push_back(c.slot);
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  CHECK(a == b);
}

// Every hit matches; min(k, matches) hits, nearest first; returns the
// fraction of the exact answer's distances it reaches.
double check_sound(const VectorStore& store, const SlotPredicate& filter,
                   const std::vector<util::Candidate>& got,
                   const std::vector<util::Candidate>& exact) {
  REQUIRE(got.size() == exact.size());
  for (size_t i = 0; i < got.size(); ++i) {
    REQUIRE(filter.matches(got[i].slot));
    REQUIRE(store.is_live(got[i].slot));
    if (i > 0) CHECK(!(got[i] < got[i - 1]));
  }
  if (exact.empty()) return 1.0;
  const float kth = exact.back().distance;
  size_t hits = 0;
  for (const auto& c : got) hits += c.distance <= kth + 1e-4f * std::fabs(kth) ? 1 : 0;
  return double(hits) / double(exact.size());
}

TEST_CASE("hnsw: filtered search equals the exact filtered scan at every selectivity") {
  Store s;
  const std::vector<float> queries = mixture(20, 12);
  for (bool plan : {true, false}) {
    CAPTURE(plan);
    HnswIndex::Options options;
    options.sq8_min_rows = 256;  // walks on 8-bit codes, reranked
    options.plan_filters = plan;
    HnswIndex index(s.store, HnswConfig{}, options);
    REQUIRE(index.insert_batch(s.slots).ok());
    index.repair_reachability();
    REQUIRE(index.unreachable() == 0);
    REQUIRE(index.uses_sq8());
    for (const Selectivity& sel : kSelectivities) {
      CAPTURE(sel.name);
      const SetPredicate filter = pick(s.store, sel.matches, 13);
      double recall = 0;
      for (size_t q = 0; q < queries.size() / kDim; ++q) {
        QueryScorer scorer(s.store, queries.data() + q * kDim);
        const auto exact = flat_search(scorer, kK, &filter);
        // A beam as wide as the graph visits every node: the exact answer.
        check_equal(index.search(scorer, kK, kRows, &filter), exact);
        const auto got = index.search(scorer, kK, 0, &filter);
        recall += check_sound(s.store, filter, got, exact);
        // With no more matches than k, every match is the answer.
        if (sel.matches <= kK) check_equal(got, exact);
      }
      recall /= double(queries.size() / kDim);
      MESSAGE(sel.name, " planned ", plan, ": recall@10 at the default ef ", recall);
      CHECK(recall >= 0.9);
    }
  }
}

TEST_CASE("hnsw: the walk of the matching subgraph is sound and exact when wide") {
  Store s;
  const std::vector<float> queries = mixture(20, 16);
  HnswIndex::Options options;
  options.sq8_min_rows = 256;
  options.subgraph_walk = true;  // every filter below walks its subgraph
  HnswIndex index(s.store, HnswConfig{}, options);
  REQUIRE(index.insert_batch(s.slots).ok());
  index.repair_reachability();
  REQUIRE(index.unreachable() == 0);
  for (const Selectivity& sel : kSelectivities) {
    CAPTURE(sel.name);
    const BitmapPredicate filter(pick_mask(s.store, sel.matches, 17));
    double recall = 0;
    for (size_t q = 0; q < queries.size() / kDim; ++q) {
      QueryScorer scorer(s.store, queries.data() + q * kDim);
      const auto exact = flat_search(scorer, kK, &filter);
      const auto got = index.search(scorer, kK, 0, &filter);
      recall += check_sound(s.store, filter, got, exact);
      if (sel.matches <= kK) check_equal(got, exact);
      // A beam as wide as the graph is exact: a walk that runs out of
      // matches before its beam fills hands the query to the scan.
      check_equal(index.search(scorer, kK, kRows, &filter), exact);
    }
    recall /= double(queries.size() / kDim);
    MESSAGE(sel.name, " subgraph walk: recall@10 at the default ef ", recall);
    if (sel.matches >= kRows / 10) CHECK(recall >= 0.9);
  }
}

TEST_CASE("hnsw: a filter that follows the data is walked soundly, and exactly when wide") {
  // Matches: the 10 % of rows nearest a row near the query, as a filter on
  // the query's own class is. Most nodes the walk expands then have most of
  // their links matching and take no second hop. Three builds, each graph
  // different (the build is parallel), every query on each.
  Store s;
  const std::vector<float> queries = mixture(20, 19);
  for (int build = 0; build < 3; ++build) {
    CAPTURE(build);
    HnswIndex::Options options;
    options.sq8_min_rows = 256;
    options.subgraph_walk = true;
    HnswIndex index(s.store, HnswConfig{}, options);
    REQUIRE(index.insert_batch(s.slots).ok());
    index.repair_reachability();
    REQUIRE(index.unreachable() == 0);
    double recall = 0;
    const size_t n = queries.size() / kDim;
    for (size_t q = 0; q < n; ++q) {
      QueryScorer scorer(s.store, queries.data() + q * kDim);
      uint32_t centre = s.slots[0];
      for (uint32_t slot : s.slots) {
        if (scorer(slot) < scorer(centre)) centre = slot;
      }
      const std::vector<uint8_t> mask = nearest_mask(s.store, s.slots, centre, kRows / 10);
      const BitmapPredicate filter(mask);
      const auto exact = flat_search(scorer, kK, &filter);
      recall += check_sound(s.store, filter, index.search(scorer, kK, 0, &filter), exact);
      check_equal(index.search(scorer, kK, kRows, &filter), exact);
      // A beam as wide as the matches: the walk holds every match it can
      // reach, or hands the query to the scan.
      check_equal(index.search(scorer, kK, kRows / 10, &filter), exact);
    }
    recall /= double(n);
    MESSAGE("filter following the data, build ", build, ": recall@10 at the default ef ", recall);
    CHECK(recall >= 0.9);
  }
}

TEST_CASE("hnsw: the subgraph walk reaches matches far from the query") {
  Store s;
  HnswIndex::Options options;
  options.sq8_min_rows = 256;
  options.subgraph_walk = true;
  HnswIndex index(s.store, HnswConfig{}, options);
  REQUIRE(index.insert_batch(s.slots).ok());
  // Matches: a group of 10 % of the rows far from the query (the rows
  // nearest the row farthest from it), as a filter on another class is, so
  // the entry point's neighbourhood holds none and only the seeds spread
  // over the set reach them.
  const std::vector<float> query = mixture(1, 18);
  QueryScorer scorer(s.store, query.data());
  uint32_t farthest = s.slots[0];
  for (uint32_t slot : s.slots) {
    if (scorer(slot) > scorer(farthest)) farthest = slot;
  }
  const std::vector<uint8_t> mask = nearest_mask(s.store, s.slots, farthest, kRows / 10);
  const BitmapPredicate filter(mask);
  const auto exact = flat_search(scorer, kK, &filter);
  const auto got = index.search(scorer, kK, 0, &filter);
  CHECK(check_sound(s.store, filter, got, exact) >= 0.9);
  check_equal(index.search(scorer, kK, kRows, &filter), exact);
}

TEST_CASE("ivf: filtered search equals the exact filtered scan at every selectivity") {
  Store s;
  const std::vector<float> queries = mixture(12, 14);
  for (Pq pq : {Pq::kNone, Pq::k8Bit, Pq::k4BitFastScan}) {
    for (bool plan : {true, false}) {
      CAPTURE(static_cast<int>(pq));
      CAPTURE(plan);
      IvfIndex::Options options;
      options.kmeans_iterations = 6;
      options.pq_iterations = 6;
      options.plan_filters = plan;
      const IvfConfig config = IvfConfig{}.with_n_clusters(30).with_n_probes(3).with_pq(pq);
      IvfIndex index(s.store, config, options);
      REQUIRE(index.insert_batch(s.slots).ok());
      if (!index.trained()) REQUIRE(index.optimize().ok());
      REQUIRE(index.trained());
      for (const Selectivity& sel : kSelectivities) {
        CAPTURE(sel.name);
        const SetPredicate filter = pick(s.store, sel.matches, 15);
        double recall = 0;
        for (size_t q = 0; q < queries.size() / kDim; ++q) {
          QueryScorer scorer(s.store, queries.data() + q * kDim);
          const auto exact = flat_search(scorer, kK, &filter);
          // Every list probed and every candidate reranked: the exact answer.
          const IvfIndex::SearchOptions all{30, kRows};
          check_equal(index.search(scorer, kK, all, &filter), exact);
          const auto got = index.search(scorer, kK, IvfIndex::SearchOptions{}, &filter);
          recall += check_sound(s.store, filter, got, exact);
          if (sel.matches <= kK) check_equal(got, exact);
        }
        recall /= double(queries.size() / kDim);
        MESSAGE(sel.name, " planned ", plan, ": recall@10 at the default probes ", recall);
        // Few probes and widening only until k matches are found: a sanity
        // bound, the exhaustive comparison above is the real check.
        CHECK(recall >= 0.6);
      }
    }
  }
}

TEST_CASE("filter planner: counts, walk budgets and the IVF scan rule") {
  Store s;
  const SetPredicate none = pick(s.store, 0, 1);
  const SetPredicate all = pick(s.store, kRows, 1);
  const FilterCount zero = count_matches(s.store, none);
  CHECK(zero.live == double(kRows));
  CHECK(zero.matches == 0.0);
  CHECK_FALSE(zero.exact);
  const FilterCount every = count_matches(s.store, all);
  CHECK(every.matches == double(kRows));
  CHECK(every.selectivity() == 1.0);
  // Nothing matches: nothing to walk towards, scan (it scores no row).
  CHECK(plan_graph_walk(zero, 64, 16, true, 784).scan);
  CHECK(plan_ivf_scan(zero, 10));
  // Everything matches: walk, with a budget of twice the scan's cost.
  const WalkPlan walk = plan_graph_walk(every, 64, 16, true, 784);
  CHECK_FALSE(walk.scan);
  const double scan_cost = kRows * FilterCosts::kPredicateCost + kRows;
  CHECK(walk.expansion_budget ==
        size_t(FilterCosts::kWalkBudgetFactor * scan_cost / (16 * FilterCosts::kWalkSq8Cost) + 1));
  CHECK_FALSE(plan_ivf_scan(every, 10));
  // The walk's cost grows with ef / selectivity: a wide beam at a low
  // selectivity is planned as a scan.
  const FilterCount two_percent{1e6, 2e4, true};
  CHECK_FALSE(plan_graph_walk(two_percent, 64, 16, true, 784).scan);
  CHECK(plan_graph_walk(two_percent, 400, 16, true, 784).scan);
  // With the exact set, a middling selectivity walks the matching subgraph
  // (cheaper than walking through ef / selectivity nodes); a sampled
  // estimate never does, nor does a selectivity below 1 / 2m.
  const FilterCount ten_percent{1e6, 1e5, true};
  const WalkPlan sub = plan_graph_walk(ten_percent, 64, 16, true, 784);
  CHECK_FALSE(sub.scan);
  CHECK(sub.subgraph);
  FilterCount estimated = ten_percent;
  estimated.exact = false;
  CHECK_FALSE(plan_graph_walk(estimated, 64, 16, true, 784).subgraph);
  const FilterCount two_per_mille{1e6, 2e3, true};
  CHECK_FALSE(plan_graph_walk(two_per_mille, 10, 16, true, 784).subgraph);
  // Growing ef never leaves the scan once chosen: the planned cost is the
  // least of the scan's (fixed) and the walks' (growing with ef).
  for (const double matches : {6e3, 6e4, 3e5}) {
    const FilterCount c{6e5, matches, true};
    bool scanned = false;
    for (size_t ef = 10; ef <= 200000; ef += ef / 4) {
      const WalkPlan p = plan_graph_walk(c, ef, 16, true, 784);
      if (scanned) CHECK(p.scan);
      scanned = scanned || p.scan;
    }
    CHECK(scanned);
  }
  // IVF scans when the matches are at most 4x the candidates it keeps.
  const FilterCount sixty{double(kRows), 60, true};
  CHECK(plan_ivf_scan(sixty, 20));
  CHECK_FALSE(plan_ivf_scan(sixty, 10));
}

}  // namespace
}  // namespace iqdb::index
