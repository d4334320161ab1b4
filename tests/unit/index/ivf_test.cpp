// Tests for src/index/ivf*: configuration per metric, the training
// lifecycle (small data, auto-training, inserts after training, retrain,
// removes, updates), k-means re-seeding of empty clusters, exactness when every list is probed,
// recall, filtered search at several selectivities, PQ code round trips, persistence (round trip,
// flipped bytes, truncations, missing sections) and the database path, in memory and through a
// database file closed and reopened.

#include "index/ivf.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "index/flat.h"
#include "index/ivf_coarse.h"
#include "index/ivf_kmeans.h"
#include "index/scorer.h"
#include "index/vector_store.h"
#include "iqdb/iqdb.hpp"
#include "kernels/distance.h"
#include "unit/util/temp_dir.h"
#include "unit/index/fake_source.h"

namespace iqdb::index {
namespace {

using ivf::kNoList;
using Pq = IvfConfig::Pq;

// ---- Data.

// n rows around `centres` Gaussian centres (the centres depend only on dim,
// metric and the centre count; the points on `seed`). Dot rows get random
// norms; Hamming rows are small integers, each position flipping away from
// its centre with p = 0.15.
std::vector<float> clustered(size_t n, size_t dim, Metric metric, uint32_t seed,
                             size_t centres = 24) {
  std::mt19937 world(static_cast<uint32_t>(dim * 977 + centres * 13 + static_cast<size_t>(metric)));
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_int_distribution<int> small(0, 3);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  std::vector<float> c(centres * dim);
  for (float& v : c) v = metric == Metric::kHamming ? float(small(world)) : 3.0f * normal(world);
  std::vector<float> rows(n * dim);
  for (size_t i = 0; i < n; ++i) {
    const float* centre = c.data() + (rng() % centres) * dim;
    const float scale = metric == Metric::kDot ? 0.5f + unit(rng) : 1.0f;
    for (size_t d = 0; d < dim; ++d) {
      if (metric == Metric::kHamming) {
        rows[i * dim + d] = unit(rng) < 0.15f ? float(small(rng)) : centre[d];
      } else {
        rows[i * dim + d] = scale * (centre[d] + normal(rng));
      }
    }
  }
  return rows;
}

struct Fixture {
  Fixture(size_t dim, Metric metric, VectorStorage storage = {}) : store(dim, metric, storage) {}
  VectorStore store;
  std::vector<uint32_t> slots;
  uint64_t next_id = 0;

  uint32_t add(const float* v) {
    auto r = store.upsert(VectorId(next_id++), {v, store.dim()}, nullptr);
    REQUIRE(r.ok());
    return r->slot;
  }
  std::vector<uint32_t> add_rows(const std::vector<float>& rows) {
    std::vector<uint32_t> added;
    for (size_t i = 0; i < rows.size() / store.dim(); ++i)
      added.push_back(add(rows.data() + i * store.dim()));
    slots.insert(slots.end(), added.begin(), added.end());
    return added;
  }
  // The database's order: the index forgets the slot, then the store frees it.
  void remove(IvfIndex& index, uint32_t slot) {
    index.remove(slot);
    store.remove(store.id(slot));
    slots.erase(std::find(slots.begin(), slots.end(), slot));
  }
};

class MaskPredicate : public SlotPredicate {
 public:
  explicit MaskPredicate(std::vector<uint8_t> mask) : mask_(std::move(mask)) {}
  bool matches(uint32_t slot) const override { return slot < mask_.size() && mask_[slot]; }

 private:
  std::vector<uint8_t> mask_;
};

IvfIndex::Options quick() {
  IvfIndex::Options o;
  o.kmeans_iterations = 8;
  o.pq_iterations = 8;
  return o;
}

std::string pq_name(Pq pq) {
  return pq == Pq::kNone ? "flat" : pq == Pq::k8Bit ? "pq8" : "pq4-fastscan";
}

// Fraction of the true k nearest (by distance, so ties count) found, over
// the queries; also checks order, liveness and the filter.
double recall(const VectorStore& store, const IvfIndex& index, const std::vector<float>& queries,
              size_t k, IvfIndex::SearchOptions options, const SlotPredicate* filter = nullptr) {
  const size_t dim = store.dim();
  const size_t nq = queries.size() / dim;
  double total = 0;
  for (size_t q = 0; q < nq; ++q) {
    QueryScorer scorer(store, queries.data() + q * dim);
    auto exact = flat_search(scorer, k, filter);
    auto approx = index.search(scorer, k, options, filter);
    REQUIRE(approx.size() == exact.size());
    for (size_t i = 1; i < approx.size(); ++i) CHECK(!(approx[i] < approx[i - 1]));
    if (exact.empty()) {
      total += 1;
      continue;
    }
    const float kth = exact.back().distance;
    size_t hits = 0;
    for (const auto& c : approx) {
      REQUIRE(store.is_live(c.slot));
      if (filter) REQUIRE(filter->matches(c.slot));
      CHECK(c.distance == doctest::Approx(scorer(c.slot)).epsilon(1e-5));
      if (c.distance <= kth + 1e-4f * std::fabs(kth)) ++hits;
    }
    total += double(std::min(hits, exact.size())) / double(exact.size());
  }
  return total / double(nq);
}

// The index returns the exact answer: same distances rank by rank, and the
// same slots wherever the distance is not (nearly) tied with a neighbour.
void check_exact(const VectorStore& store, const IvfIndex& index, const std::vector<float>& queries,
                 size_t k, IvfIndex::SearchOptions options, const SlotPredicate* filter = nullptr) {
  const size_t dim = store.dim();
  for (size_t q = 0; q < queries.size() / dim; ++q) {
    CAPTURE(q);
    QueryScorer scorer(store, queries.data() + q * dim);
    auto exact = flat_search(scorer, k, filter);
    auto got = index.search(scorer, k, options, filter);
    REQUIRE(got.size() == exact.size());
    for (size_t i = 0; i < got.size(); ++i) {
      const float tol = 1e-5f * (1.0f + std::fabs(exact[i].distance));
      CHECK(std::fabs(got[i].distance - exact[i].distance) <= tol);
      const bool tied = (i > 0 && exact[i].distance - exact[i - 1].distance <= tol) ||
                        (i + 1 < exact.size() && exact[i + 1].distance - exact[i].distance <= tol);
      if (!tied) CHECK(got[i].slot == exact[i].slot);
    }
  }
}

// Rows a u8 store can hold: whole numbers in [0, 255] (Hamming rows are
// small whole numbers already).
std::vector<float> as_bytes(std::vector<float> rows) {
  for (float& v : rows) v = std::clamp(std::round(128.0f + 24.0f * v), 0.0f, 255.0f);
  return rows;
}

std::string storage_name(const VectorStorage& s) {
  return std::string(storage_type_name(s.type)) + (s.lossy() && s.keep_f32 ? "+f32" : "");
}

// ---- Configuration.

TEST_CASE(
    "ivf: PQ under L1 or Hamming is unsupported at configure time; IVF-Flat serves every metric") {
  for (Metric m : {Metric::kCosine, Metric::kDot, Metric::kL2, Metric::kL1, Metric::kHamming}) {
    CAPTURE(metric_name(m));
    CHECK(IvfIndex::check_config(IvfConfig{}, 16, m).ok());
    for (Pq pq : {Pq::k8Bit, Pq::k4BitFastScan}) {
      const Status s = IvfIndex::check_config(IvfConfig{}.with_pq(pq), 16, m);
      const bool pq_metric = m != Metric::kL1 && m != Metric::kHamming;
      CHECK(s.ok() == pq_metric);
      if (!pq_metric) CHECK(s.code() == StatusCode::kUnsupported);
    }
  }
  // Explicit subquantizer counts must divide dim.
  CHECK(
      IvfIndex::check_config(IvfConfig{}.with_pq(Pq::k8Bit).with_pq_subvectors(5), 16, Metric::kL2)
          .code() == StatusCode::kInvalidArgument);
  CHECK(
      IvfIndex::check_config(IvfConfig{}.with_pq(Pq::k8Bit).with_pq_subvectors(8), 16, Metric::kL2)
          .ok());
  CHECK(IvfIndex::check_config(IvfConfig{}.with_n_probes(0), 16, Metric::kL2).code() ==
        StatusCode::kInvalidArgument);
}

TEST_CASE("ivf: default PQ shapes pad odd dimensions and follow the issue's layouts") {
  auto s4 = ivf::pq_shape(IvfConfig{}.with_pq(Pq::k4BitFastScan), 784);
  REQUIRE(s4.ok());
  CHECK(s4->num_sub == 392);
  CHECK(s4->dsub == 2);
  CHECK(s4->ksub == 16);
  auto s8 = ivf::pq_shape(IvfConfig{}.with_pq(Pq::k8Bit), 784);
  REQUIRE(s8.ok());
  CHECK(s8->num_sub == 196);
  CHECK(s8->ksub == 256);
  auto odd = ivf::pq_shape(IvfConfig{}.with_pq(Pq::k4BitFastScan), 7);
  REQUIRE(odd.ok());
  CHECK(odd->code_dim() == 8);
  auto big = ivf::pq_shape(IvfConfig{}.with_pq(Pq::k4BitFastScan), 10000);
  REQUIRE(big.ok());
  CHECK(big->num_sub <= 1024);
  CHECK(big->code_dim() >= 10000);
}

// ---- k-means.

// Rows per cluster after assigning every row to its nearest centroid.
std::vector<size_t> cluster_sizes(const std::vector<float>& rows, size_t dim,
                                  const std::vector<float>& centroids, size_t k) {
  const size_t n = rows.size() / dim;
  std::vector<float> norms(k);
  ivf::centroid_norms(centroids.data(), dim, k, dim, norms.data());
  std::vector<uint32_t> labels(n);
  ivf::assign_nearest(ivf::PartitionDistance::kL2, rows.data(), dim, n, dim, centroids.data(), dim,
                      norms.data(), k, labels.data(), nullptr);
  std::vector<size_t> sizes(k, 0);
  for (uint32_t l : labels) ++sizes[l];
  return sizes;
}

TEST_CASE("kmeans: clusters left empty by Lloyd are re-seeded, so every centroid keeps rows") {
  // 15 distinct rows near the origin, each repeated 60 times, and 100 rows
  // spread around (100, 0, ...). Seeding on just k rows (max_seed_rows)
  // picks copies of the same dense row more than once: identical
  // centroids, of which all but the lowest start empty (ties go to the
  // lower index) and stay empty unless re-seeded.
  const size_t dim = 4, k = 24;
  std::mt19937 rng(41);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> rows;
  for (size_t p = 0; p < 15; ++p) {
    std::vector<float> point(dim);
    for (float& v : point) v = 0.01f * normal(rng);
    for (size_t r = 0; r < 60; ++r) rows.insert(rows.end(), point.begin(), point.end());
  }
  for (size_t i = 0; i < 100; ++i) {
    for (size_t d = 0; d < dim; ++d) rows.push_back((d == 0 ? 100.0f : 0.0f) + 5.0f * normal(rng));
  }
  const size_t n = rows.size() / dim;
  for (uint64_t seed : {1u, 2u, 3u, 4u, 5u}) {
    CAPTURE(seed);
    ivf::KMeansOptions options;
    options.iterations = 20;
    options.max_seed_rows = k;
    options.seed = seed;
    std::vector<float> centroids(k * dim);
    ivf::train_kmeans(rows.data(), dim, n, dim, k, ivf::PartitionDistance::kL2, options,
                      centroids.data(), dim);
    const auto sizes = cluster_sizes(rows, dim, centroids, k);
    size_t empty = 0;
    for (size_t s : sizes) empty += s == 0;
    CHECK(empty == 0);
  }
}

TEST_CASE(
    "kmeans: a converged centroid is the mean, median or mode of its rows; L2 finds every group") {
  // Six groups of rows with every coordinate 10 * g, a tenth of them off by
  // one. 900 rows: Lloyd stops only when no row changes cluster, so the
  // centroids are exactly the centres of the final clusters.
  const size_t dim = 8, k = 6, per_group = 150;
  for (auto distance : {ivf::PartitionDistance::kL2, ivf::PartitionDistance::kL1,
                        ivf::PartitionDistance::kHamming}) {
    CAPTURE(int(distance));
    std::mt19937 rng(43);
    std::uniform_int_distribution<int> noise(0, 9);
    std::vector<float> rows;
    for (size_t g = 0; g < k; ++g) {
      for (size_t i = 0; i < per_group; ++i) {
        for (size_t d = 0; d < dim; ++d)
          rows.push_back(10.0f * float(g) + (noise(rng) == 0 ? 1.0f : 0.0f));
      }
    }
    const size_t n = rows.size() / dim;
    ivf::KMeansOptions options;
    options.iterations = 100;
    options.seed = 7;
    std::vector<float> centroids(k * dim);
    ivf::train_kmeans(rows.data(), dim, n, dim, k, distance, options, centroids.data(), dim);
    std::vector<float> norms(k);
    ivf::centroid_norms(centroids.data(), dim, k, dim, norms.data());
    std::vector<uint32_t> labels(n);
    ivf::assign_nearest(distance, rows.data(), dim, n, dim, centroids.data(), dim, norms.data(), k,
                        labels.data(), nullptr);
    std::set<size_t> groups;
    for (size_t j = 0; j < k; ++j) {
      CAPTURE(j);
      for (size_t d = 0; d < dim; ++d) {
        std::vector<float> values;
        for (size_t i = 0; i < n; ++i) {
          if (labels[i] == j) values.push_back(rows[i * dim + d]);
        }
        REQUIRE(!values.empty());
        std::sort(values.begin(), values.end());
        float want = 0;
        if (distance == ivf::PartitionDistance::kL2) {
          double sum = 0;
          for (float v : values) sum += v;
          want = float(sum / double(values.size()));
        } else if (distance == ivf::PartitionDistance::kL1) {
          want = values[(values.size() - 1) / 2];  // the lower median
        } else {
          size_t best = 0;
          for (size_t i = 0; i < values.size();) {  // the mode, ties to the smaller value
            size_t e = i;
            while (e < values.size() && values[e] == values[i]) ++e;
            if (e - i > best) {
              best = e - i;
              want = values[i];
            }
            i = e;
          }
        }
        CHECK(centroids[j * dim + d] == doctest::Approx(want).epsilon(1e-5));
      }
      groups.insert(size_t(std::lround(centroids[j * dim] / 10.0f)));
    }
    // D^2 seeding puts one centroid in each group; the D-weighted seeding of
    // the L1 and Hamming variants may not (a local optimum, not a bug).
    if (distance == ivf::PartitionDistance::kL2) CHECK(groups.size() == k);
  }
}

// ---- Lifecycle.

TEST_CASE(
    "ivf: fewer rows than clusters never errors: exact scan until trained, optimize shrinks") {
  for (Pq pq : {Pq::kNone, Pq::k8Bit, Pq::k4BitFastScan}) {
    CAPTURE(pq_name(pq));
    Fixture f(8, Metric::kL2);
    IvfIndex index(f.store, IvfConfig{}.with_n_clusters(64).with_pq(pq), quick());
    CHECK(index
              .search(QueryScorer(f.store, std::vector<float>(8, 0.0f).data()), 5, AnnKnobs{},
                      nullptr)
              .empty());
    const auto rows = clustered(100, 8, Metric::kL2, 1);
    for (uint32_t s : f.add_rows(rows)) REQUIRE(index.insert(s).ok());
    CHECK_FALSE(index.trained());
    CHECK(index.pending_rows() == 100);
    CHECK(index.check().ok());
    const auto queries = clustered(10, 8, Metric::kL2, 2);
    check_exact(f.store, index, queries, 10, {});
    REQUIRE(index.optimize().ok());
    REQUIRE(index.trained());
    CHECK(index.n_lists() >= 1);
    CHECK(index.n_lists() <= 100 / 32);
    CHECK(index.check().ok());
    check_exact(f.store, index, queries, 10, {index.n_lists(), 100});
  }
}

TEST_CASE("ivf: a handful of rows, optimize, then search and remove everything") {
  Fixture f(4, Metric::kCosine);
  IvfIndex index(f.store, IvfConfig{}.with_pq(Pq::k4BitFastScan), quick());
  const float rows[3][4] = {{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 0, 0}};  // a zero vector too
  for (const auto& r : rows) REQUIRE(index.insert(f.add(r)).ok());
  f.slots = {0, 1, 2};
  REQUIRE(index.optimize().ok());
  CHECK(index.n_lists() == 1);
  const float q[4] = {1, 0.1f, 0, 0};
  QueryScorer scorer(f.store, q);
  auto hits = index.search(scorer, 10, AnnKnobs{}, nullptr);
  REQUIRE(hits.size() == 3);
  CHECK(hits[0].slot == 0);
  for (uint32_t s : {0u, 1u, 2u}) f.remove(index, s);
  CHECK(index.check().ok());
  CHECK(index.search(scorer, 10, AnnKnobs{}, nullptr).empty());
  REQUIRE(index.optimize().ok());  // no rows: back to untrained
  CHECK_FALSE(index.trained());
}

TEST_CASE("ivf: trains itself when the threshold is reached, in single inserts and in a batch") {
  for (bool batch : {false, true}) {
    CAPTURE(batch);
    Fixture f(16, Metric::kL2);
    IvfIndex index(f.store, IvfConfig{}.with_n_clusters(16).with_pq(Pq::k4BitFastScan), quick());
    CHECK(index.train_threshold() == 16 * 32);
    const auto rows = clustered(index.train_threshold(), 16, Metric::kL2, 3);
    const auto slots = f.add_rows(rows);
    if (batch) {
      REQUIRE(index.insert_batch(std::span(slots).first(slots.size() - 1)).ok());
    } else {
      for (size_t i = 0; i + 1 < slots.size(); ++i) REQUIRE(index.insert(slots[i]).ok());
    }
    CHECK_FALSE(index.trained());
    REQUIRE(index.insert(slots.back()).ok());
    REQUIRE(index.trained());
    CHECK(index.n_lists() == 16);
    CHECK(index.pending_rows() == 0);
    CHECK(index.check().ok());
    size_t in_lists = 0;
    for (uint32_t l = 0; l < index.n_lists(); ++l) in_lists += index.list_size(l);
    CHECK(in_lists == slots.size());
  }
}

// Distance in the partition space from an index-space row to a centroid.
float partition_distance(Metric metric, const float* x, std::span<const float> c) {
  double s = 0;
  for (size_t d = 0; d < c.size(); ++d) {
    const double diff = double(x[d]) - c[d];
    s += metric == Metric::kL1        ? std::fabs(diff)
         : metric == Metric::kHamming ? (x[d] != c[d])
                                      : diff * diff;
  }
  return float(s);
}

TEST_CASE("ivf: rows inserted after training go to their nearest list, for every metric") {
  for (Metric metric :
       {Metric::kL2, Metric::kCosine, Metric::kDot, Metric::kL1, Metric::kHamming}) {
    CAPTURE(metric_name(metric));
    Fixture f(12, metric);
    IvfIndex index(f.store, IvfConfig{}.with_n_clusters(8), quick());
    REQUIRE(index.insert_batch(f.add_rows(clustered(600, 12, metric, 4))).ok());
    REQUIRE(index.trained());
    const auto later = f.add_rows(clustered(50, 12, metric, 5));
    for (uint32_t s : later) REQUIRE(index.insert(s).ok());
    std::vector<float> x(index.vector_floats());
    for (uint32_t s : later) {
      const uint32_t list = index.list_of(s);
      REQUIRE(list != kNoList);
      index.index_vector(s, x.data());
      const float mine = partition_distance(metric, x.data(), index.centroid(list));
      for (uint32_t l = 0; l < index.n_lists(); ++l) {
        CHECK(mine <=
              partition_distance(metric, x.data(), index.centroid(l)) * (1 + 1e-4f) + 1e-4f);
      }
    }
    CHECK(index.check().ok());
  }
}

TEST_CASE("ivf: probing every list gives the exact result for every metric and code kind") {
  for (Metric metric :
       {Metric::kL2, Metric::kCosine, Metric::kDot, Metric::kL1, Metric::kHamming}) {
    for (Pq pq : {Pq::kNone, Pq::k8Bit, Pq::k4BitFastScan}) {
      if (!IvfIndex::check_config(IvfConfig{}.with_pq(pq), 24, metric).ok()) continue;
      CAPTURE(metric_name(metric));
      CAPTURE(pq_name(pq));
      Fixture f(24, metric);
      IvfIndex index(f.store, IvfConfig{}.with_n_clusters(20).with_pq(pq), quick());
      const size_t n = 1500;
      REQUIRE(index.insert_batch(f.add_rows(clustered(n, 24, metric, 6))).ok());
      if (pq == Pq::k8Bit) REQUIRE(index.optimize().ok());  // below the PQ8 auto threshold
      REQUIRE(index.trained());
      const auto queries = clustered(20, 24, metric, 7);
      // IVF-Flat scores exactly; IVF-PQ is exact once the shortlist holds
      // every row.
      check_exact(f.store, index, queries, 10, {index.n_lists(), pq == Pq::kNone ? 0 : n});
      // With a 10x shortlist the PQ answer is already (nearly) exact.
      CHECK(recall(f.store, index, queries, 10, {index.n_lists(), 10}) >= 0.97);
    }
  }
}

TEST_CASE("ivf: recall at the default probe count on clustered data, every code kind") {
  for (Metric metric : {Metric::kL2, Metric::kCosine, Metric::kDot}) {
    for (Pq pq : {Pq::kNone, Pq::k8Bit, Pq::k4BitFastScan}) {
      CAPTURE(metric_name(metric));
      CAPTURE(pq_name(pq));
      Fixture f(32, metric);
      IvfIndex index(f.store, IvfConfig{}.with_pq(pq), quick());  // n_clusters: about sqrt(n)
      REQUIRE(index.insert_batch(f.add_rows(clustered(5000, 32, metric, 8))).ok());
      REQUIRE(index.trained());
      CHECK(index.n_lists() == 71);  // round(sqrt(5000))
      CHECK(recall(f.store, index, clustered(50, 32, metric, 9), 10, {}) >= 0.9);
    }
  }
}

TEST_CASE("ivf: L1 and Hamming IVF-Flat reach good recall") {
  for (Metric metric : {Metric::kL1, Metric::kHamming}) {
    CAPTURE(metric_name(metric));
    Fixture f(32, metric);
    IvfIndex index(f.store, IvfConfig{}.with_n_clusters(32), quick());
    REQUIRE(index.insert_batch(f.add_rows(clustered(3000, 32, metric, 10))).ok());
    CHECK(recall(f.store, index, clustered(40, 32, metric, 11), 10, {8, 0}) >= 0.9);
  }
}

TEST_CASE("ivf: removes keep every invariant and never return removed rows") {
  for (Pq pq : {Pq::kNone, Pq::k8Bit, Pq::k4BitFastScan}) {
    CAPTURE(pq_name(pq));
    Fixture f(16, Metric::kL2);
    IvfIndex index(f.store, IvfConfig{}.with_n_clusters(10).with_pq(pq), quick());
    REQUIRE(index.insert_batch(f.add_rows(clustered(1200, 16, Metric::kL2, 12))).ok());
    if (!index.trained()) REQUIRE(index.optimize().ok());
    std::mt19937 rng(5);
    for (int i = 0; i < 500; ++i) f.remove(index, f.slots[rng() % f.slots.size()]);
    CHECK(index.check().ok());
    const auto queries = clustered(20, 16, Metric::kL2, 13);
    check_exact(f.store, index, queries, 10, {index.n_lists(), 2000});
    // Freed slots are reused by the store; the index takes them back.
    const auto again = f.add_rows(clustered(300, 16, Metric::kL2, 14));
    REQUIRE(index.insert_batch(again).ok());
    CHECK(index.check().ok());
    check_exact(f.store, index, queries, 10, {index.n_lists(), 2000});
    // Every freed slot taken again: the store has no hole, and the scan
    // skips its liveness map.
    REQUIRE(index.insert_batch(f.add_rows(clustered(300, 16, Metric::kL2, 15))).ok());
    REQUIRE(f.store.size() == f.store.slot_end());
    CHECK(index.check().ok());
    check_exact(f.store, index, queries, 10, {index.n_lists(), 2000});
    // A row the store has freed while its list still holds it (a write
    // between its two steps) is never an answer, with or without holes.
    const uint32_t last = *std::max_element(f.slots.begin(), f.slots.end());
    for (const uint32_t retired : {last, f.slots.front()}) {
      CAPTURE(retired);
      const std::vector<float> at(f.store.row(retired), f.store.row(retired) + 16);
      f.store.remove(f.store.id(retired));
      f.slots.erase(std::find(f.slots.begin(), f.slots.end(), retired));
      QueryScorer scorer(f.store, at.data());
      for (const auto& hit : index.search(scorer, 10, AnnKnobs{index.n_lists(), 2000}, nullptr))
        CHECK(hit.slot != retired);
    }
  }
}

TEST_CASE("ivf: removing pending rows before training, and removing an unknown slot") {
  Fixture f(8, Metric::kL2);
  IvfIndex index(f.store, IvfConfig{}.with_n_clusters(64), quick());
  REQUIRE(index.insert_batch(f.add_rows(clustered(50, 8, Metric::kL2, 15))).ok());
  for (uint32_t s = 0; s < 50; s += 2) f.remove(index, s);
  index.remove(12345);  // never indexed: no-op
  CHECK(index.pending_rows() == 25);
  CHECK(index.check().ok());
  check_exact(f.store, index, clustered(5, 8, Metric::kL2, 16), 10, {});
}

TEST_CASE("ivf: update refiles a moved row") {
  for (Pq pq : {Pq::kNone, Pq::k4BitFastScan}) {
    CAPTURE(pq_name(pq));
    Fixture f(8, Metric::kL2);
    IvfIndex index(f.store, IvfConfig{}.with_n_clusters(8).with_pq(pq), quick());
    REQUIRE(index.insert_batch(f.add_rows(clustered(600, 8, Metric::kL2, 17))).ok());
    REQUIRE(index.trained());
    // Move row 3 onto row 500's position (replace the vector in place).
    std::vector<float> target(f.store.row(500), f.store.row(500) + 8);
    auto r = f.store.upsert(f.store.id(3), target, nullptr);
    REQUIRE(r.ok());
    REQUIRE(r->replaced);
    REQUIRE(index.update(3).ok());
    CHECK(index.list_of(3) == index.list_of(500));
    CHECK(index.check().ok());
    QueryScorer scorer(f.store, target.data());
    auto hits = index.search(scorer, 2, AnnKnobs{}, nullptr);
    REQUIRE(hits.size() == 2);
    std::set<uint32_t> got{hits[0].slot, hits[1].slot};
    CHECK(got == std::set<uint32_t>{3, 500});
  }
}

TEST_CASE("ivf: optimize retrains from the current rows; auto n_clusters grows with the data") {
  Fixture f(16, Metric::kL2);
  IvfIndex index(f.store, IvfConfig{}.with_pq(Pq::k4BitFastScan), quick());
  REQUIRE(index.insert_batch(f.add_rows(clustered(1100, 16, Metric::kL2, 18))).ok());
  REQUIRE(index.trained());
  CHECK(index.n_lists() == 33);  // round(sqrt(1100))
  // Grows fourfold: the index retrains itself with more lists.
  REQUIRE(index.insert_batch(f.add_rows(clustered(3400, 16, Metric::kL2, 19))).ok());
  CHECK(index.n_lists() == 67);  // round(sqrt(4500))
  CHECK(index.check().ok());
  // Smaller growth keeps the lists until optimize().
  REQUIRE(index.insert_batch(f.add_rows(clustered(2000, 16, Metric::kL2, 20))).ok());
  CHECK(index.n_lists() == 67);
  REQUIRE(index.optimize().ok());
  CHECK(index.n_lists() == 81);  // round(sqrt(6500))
  CHECK(index.check().ok());
  CHECK(recall(f.store, index, clustered(40, 16, Metric::kL2, 21), 10, {}) >= 0.9);
}

TEST_CASE("ivf: training is deterministic for a seed") {
  Fixture f(16, Metric::kL2);
  const auto slots = f.add_rows(clustered(2000, 16, Metric::kL2, 22));
  IvfIndex a(f.store, IvfConfig{}.with_n_clusters(12).with_pq(Pq::k4BitFastScan), quick());
  IvfIndex b(f.store, IvfConfig{}.with_n_clusters(12).with_pq(Pq::k4BitFastScan), quick());
  REQUIRE(a.insert_batch(slots).ok());
  REQUIRE(b.insert_batch(slots).ok());
  for (uint32_t l = 0; l < 12; ++l) {
    const auto ca = a.centroid(l), cb = b.centroid(l);
    CHECK(std::equal(ca.begin(), ca.end(), cb.begin()));
  }
  for (uint32_t s : slots) CHECK(a.codes(s) == b.codes(s));
}

// ---- PQ codes.

TEST_CASE("ivf: PQ codes round-trip within bounds: nearest codeword per subvector, small error") {
  for (Pq pq : {Pq::k8Bit, Pq::k4BitFastScan}) {
    CAPTURE(pq_name(pq));
    Fixture f(32, Metric::kL2);
    IvfIndex index(f.store, IvfConfig{}.with_n_clusters(16).with_pq(pq), quick());
    REQUIRE(index.insert_batch(f.add_rows(clustered(5000, 32, Metric::kL2, 23))).ok());
    REQUIRE(index.trained());
    const ivf::ProductQuantizer* q = index.quantizer();
    REQUIRE(q != nullptr);
    const size_t cd = q->code_dim(), ds = q->dsub(), ks = q->ksub();
    std::vector<float> x(index.vector_floats()), r(cd), back(cd);
    double err = 0, energy = 0;
    for (uint32_t s : f.slots) {
      index.index_vector(s, x.data());
      const auto c = index.centroid(index.list_of(s));
      for (size_t d = 0; d < cd; ++d) r[d] = x[d] - (d < c.size() ? c[d] : 0.0f);
      const std::vector<uint8_t> codes = index.codes(s);
      REQUIRE(codes.size() == q->num_sub());
      q->decode(codes.data(), back.data());
      for (size_t m = 0; m < q->num_sub(); ++m) {
        REQUIRE(codes[m] < ks);
        // The stored code is the nearest codeword of its subspace.
        auto sub_dist = [&](size_t j) {
          double t = 0;
          for (size_t d = 0; d < ds; ++d) {
            const double diff = r[m * ds + d] - q->codebooks()[(m * ds + d) * ks + j];
            t += diff * diff;
          }
          return t;
        };
        const double mine = sub_dist(codes[m]);
        for (size_t j = 0; j < ks; ++j) CHECK(mine <= sub_dist(j) + 1e-4);
      }
      for (size_t d = 0; d < cd; ++d) {
        err += (double(r[d]) - back[d]) * (double(r[d]) - back[d]);
        energy += double(r[d]) * r[d];
      }
    }
    // Reconstruction keeps most of the residual: 8-bit codes with 4
    // dimensions per codebook, 4-bit with 2.
    const double relative = err / energy;
    MESSAGE(pq_name(pq), " relative squared reconstruction error ", relative);
    CHECK(relative < (pq == Pq::k8Bit ? 0.25 : 0.3));
  }
}

// ---- Filters.

TEST_CASE("ivf: filtered search returns k matching hits when k matches exist, at any selectivity") {
  for (Pq pq : {Pq::kNone, Pq::k8Bit, Pq::k4BitFastScan}) {
    for (bool plan : {true, false}) {
      CAPTURE(pq_name(pq));
      CAPTURE(plan);
      Fixture f(16, Metric::kL2);
      IvfIndex::Options o = quick();
      o.plan_filters = plan;
      IvfIndex index(f.store, IvfConfig{}.with_n_clusters(40).with_n_probes(2).with_pq(pq), o);
      REQUIRE(index.insert_batch(f.add_rows(clustered(4000, 16, Metric::kL2, 24))).ok());
      if (!index.trained()) REQUIRE(index.optimize().ok());
      const auto queries = clustered(15, 16, Metric::kL2, 25);
      std::mt19937 rng(9);
      for (double p : {0.5, 0.05, 0.005}) {
        CAPTURE(p);
        std::vector<uint8_t> mask(f.store.slot_end());
        std::bernoulli_distribution keep(p);
        for (auto& m : mask) m = keep(rng);
        MaskPredicate filter(mask);
        CHECK(recall(f.store, index, queries, 10, {}, &filter) >= (p >= 0.05 ? 0.8 : 0.6));
      }
      // Fewer matches than k: all of them; none: nothing.
      std::vector<uint8_t> three(f.store.slot_end(), 0);
      three[5] = three[700] = three[3999] = 1;
      MaskPredicate filter3(three);
      check_exact(f.store, index, queries, 10, {}, &filter3);
      MaskPredicate none(std::vector<uint8_t>(f.store.slot_end(), 0));
      QueryScorer scorer(f.store, queries.data());
      CHECK(index.search(scorer, 10, AnnKnobs{}, &none).empty());
    }
  }
}

// ---- Persistence.

using FakeSink = iqdb::testing::FakeSink;

using testing::FakeSource;

// `index` saved into sections and loaded back over the same store.
Result<IvfIndex> save_and_load(const VectorStore& store, const IvfIndex& index,
                               const IvfConfig& config,
                               const IvfIndex::Options& options = quick()) {
  FakeSink sink;
  index.save(sink);
  FakeSource source(sink.sections);
  return IvfIndex::load(store, config, source, options);
}

// a and b return the same slots, rank by rank, for every query.
void check_same_answers(const VectorStore& store, const IvfIndex& a, const IvfIndex& b,
                        const std::vector<float>& queries) {
  const size_t dim = store.dim();
  for (size_t q = 0; q < queries.size() / dim; ++q) {
    QueryScorer scorer(store, queries.data() + q * dim);
    auto x = a.search(scorer, 10, AnnKnobs{}, nullptr);
    auto y = b.search(scorer, 10, AnnKnobs{}, nullptr);
    REQUIRE(x.size() == y.size());
    for (size_t i = 0; i < x.size(); ++i) CHECK(x[i].slot == y[i].slot);
  }
}

TEST_CASE("ivf: save and load round trip gives the same answers and keeps working") {
  for (Pq pq : {Pq::kNone, Pq::k8Bit, Pq::k4BitFastScan}) {
    for (bool trained : {false, true}) {
      CAPTURE(pq_name(pq));
      CAPTURE(trained);
      Fixture f(16, Metric::kCosine);
      const IvfConfig config = IvfConfig{}.with_n_clusters(12).with_pq(pq);
      IvfIndex index(f.store, config, quick());
      REQUIRE(
          index.insert_batch(f.add_rows(clustered(trained ? 1500 : 200, 16, Metric::kCosine, 26)))
              .ok());
      if (trained && !index.trained()) REQUIRE(index.optimize().ok());
      REQUIRE(index.trained() == trained);
      for (uint32_t s = 0; s < 60; s += 3) f.remove(index, s);
      auto loaded = save_and_load(f.store, index, config);
      REQUIRE_MESSAGE(loaded.ok(), loaded.status().to_string());
      CHECK(loaded->check().ok());
      CHECK(loaded->trained() == trained);
      CHECK(loaded->n_lists() == index.n_lists());
      const auto queries = clustered(20, 16, Metric::kCosine, 27);
      check_same_answers(f.store, index, *loaded, queries);
      // The loaded index grows (appending into adopted lists) and shrinks.
      REQUIRE(loaded->insert_batch(f.add_rows(clustered(100, 16, Metric::kCosine, 28))).ok());
      for (uint32_t s = 100; s < 130; ++s) f.remove(*loaded, s);
      CHECK_MESSAGE(loaded->check().ok(), loaded->check().to_string());
      check_exact(f.store, *loaded, queries, 10, {loaded->n_lists() + 1, 4000});
    }
  }
}

// ---- Ranking lists by centroid codes.

TEST_CASE(
    "ivf coarse codes: code distances stay within what rounding allows; none kept or used "
    "when they cannot rank") {
  const size_t dim = 40, k = 600, stride = 48;
  std::mt19937 rng(61);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  std::vector<float> centroids(k * stride, 0.0f);
  for (size_t j = 0; j < k; ++j)
    for (size_t d = 0; d < dim; ++d) centroids[j * stride + d] = normal(rng) + float(d % 5);
  ivf::CoarseCodes codes;
  codes.build(centroids.data(), stride, k, dim);
  REQUIRE(!codes.empty());
  // The grid's step: the widest per-dimension range over 255.
  float widest = 0;
  for (size_t d = 0; d < dim; ++d) {
    float lo = INFINITY, hi = -INFINITY;
    for (size_t j = 0; j < k; ++j) {
      lo = std::min(lo, centroids[j * stride + d]);
      hi = std::max(hi, centroids[j * stride + d]);
    }
    widest = std::max(widest, hi - lo);
  }
  // Query and centroid each move by at most half a step per dimension, so
  // the distance moves by at most sqrt(dim) steps (triangle inequality).
  const float bound = std::sqrt(float(dim)) * widest / 255.0f * 1.001f;
  const kernels::DistanceKernels& kern = kernels::active_kernels();
  std::vector<int16_t> scratch;
  std::vector<float> approx(k);
  for (int q = 0; q < 20; ++q) {
    std::vector<float> query(dim);
    for (float& v : query) v = 1.5f * normal(rng);
    REQUIRE(codes.l2_distances(query.data(), scratch, approx.data()));
    for (size_t j = 0; j < k; ++j) {
      const float exact = kern.l2_squared(query.data(), centroids.data() + j * stride, dim);
      CHECK(std::fabs(std::sqrt(approx[j]) - std::sqrt(exact)) <= bound);
    }
  }
  // A query far outside the centroids' range would clamp: declined.
  std::vector<float> far(dim, 1e6f);
  CHECK(!codes.l2_distances(far.data(), scratch, approx.data()));
  far[0] = NAN;
  CHECK(!codes.l2_distances(far.data(), scratch, approx.data()));
  // Every centroid the same, or one not finite: no codes.
  ivf::CoarseCodes same;
  std::vector<float> one_point(k * stride, 2.5f);
  same.build(one_point.data(), stride, k, dim);
  CHECK(same.empty());
  CHECK(!same.l2_distances(centroids.data(), scratch, approx.data()));
  centroids[3 * stride + 7] = INFINITY;
  ivf::CoarseCodes broken;
  broken.build(centroids.data(), stride, k, dim);
  CHECK(broken.empty());
}

TEST_CASE(
    "ivf: with hundreds of lists ranked by codes, the probed lists are still the nearest by "
    "exact distance") {
  const size_t dim = 16, lists = 600, probes = 8, k = 10;
  for (Metric metric : {Metric::kL2, Metric::kCosine, Metric::kDot}) {
    CAPTURE(metric_name(metric));
    Fixture f(dim, metric);
    const IvfConfig config = IvfConfig{}.with_n_clusters(lists);
    // Codes for any size of centroids (by default from 1 MiB, which these
    // 600 x 16 floats are far below).
    IvfIndex::Options options = quick();
    options.coarse_codes_from_bytes = 0;
    IvfIndex index(f.store, config, options);
    const auto rows = f.add_rows(clustered(lists * 40, dim, metric, 62, 300));
    REQUIRE(index.insert_batch(rows).ok());
    REQUIRE(index.trained());
    REQUIRE(index.n_lists() == lists);
    // Dot ranks lists by dot product, which the codes do not serve.
    CHECK(index.ranks_lists_by_codes() == (metric != Metric::kDot));
    CHECK(!index.ranks_lists_by_graph());
    IvfIndex by_default(f.store, config, quick());
    REQUIRE(by_default.insert_batch(rows).ok());
    CHECK(!by_default.ranks_lists_by_codes());
    auto loaded = save_and_load(f.store, index, config, options);
    REQUIRE_MESSAGE(loaded.ok(), loaded.status().to_string());
    CHECK(loaded->ranks_lists_by_codes() == index.ranks_lists_by_codes());
    // The same model with the nearest lists found by a walk on the graph
    // over the codes (by default from 2,048 lists on).
    IvfIndex::Options graph_options = options;
    graph_options.coarse_graph_from_lists = 0;
    auto by_graph = save_and_load(f.store, index, config, graph_options);
    REQUIRE_MESSAGE(by_graph.ok(), by_graph.status().to_string());
    CHECK(by_graph->ranks_lists_by_graph() == (metric != Metric::kDot));

    const auto queries = clustered(30, dim, metric, 63, 300);
    std::vector<float> qv(index.vector_floats());
    for (size_t q = 0; q < queries.size() / dim; ++q) {
      CAPTURE(q);
      const float* query = queries.data() + q * dim;
      // The reference: the `probes` nearest centroids by exact distance in
      // the index's space, then the exact k nearest rows filed in them.
      float inv = 1.0f;
      if (metric == Metric::kCosine) {
        float sq = 0;
        for (size_t d = 0; d < dim; ++d) sq += query[d] * query[d];
        inv = 1.0f / std::sqrt(sq);
      }
      for (size_t d = 0; d < dim; ++d) qv[d] = query[d] * inv;
      std::vector<std::pair<float, uint32_t>> by_centroid;
      for (uint32_t l = 0; l < lists; ++l) {
        const auto c = index.centroid(l);
        float v = 0;
        for (size_t d = 0; d < dim; ++d) {
          v += metric == Metric::kDot ? -qv[d] * c[d] : (qv[d] - c[d]) * (qv[d] - c[d]);
        }
        by_centroid.push_back({v, l});
      }
      std::sort(by_centroid.begin(), by_centroid.end());
      std::vector<uint8_t> probed(lists, 0);
      for (size_t i = 0; i < probes; ++i) probed[by_centroid[i].second] = 1;
      std::vector<uint8_t> mask(f.store.slot_end(), 0);
      for (uint32_t s : f.slots) mask[s] = probed[index.list_of(s)];
      MaskPredicate in_probed(mask);
      QueryScorer scorer(f.store, query);
      const auto want = flat_search(scorer, k, &in_probed);
      for (const IvfIndex* ix : {&index, &*loaded, &*by_graph}) {
        const auto got = ix->search(scorer, k, IvfIndex::SearchOptions{probes, 0}, nullptr);
        REQUIRE(got.size() == want.size());
        for (size_t i = 0; i < got.size(); ++i) {
          CHECK(got[i].distance == doctest::Approx(want[i].distance).epsilon(1e-5));
        }
      }
    }
  }
}

// Centroids like a trained model's: clumps of points, more clumps than the
// graph has entries.
std::vector<float> clumped_centroids(size_t k, size_t dim, size_t stride, uint32_t seed) {
  std::vector<float> rows = clustered(k, dim, Metric::kL2, seed, 300);
  std::vector<float> out(k * stride, 0.0f);
  for (size_t j = 0; j < k; ++j) std::copy_n(rows.data() + j * dim, dim, out.data() + j * stride);
  return out;
}

TEST_CASE(
    "ivf coarse graph: every centroid is reachable from the first entry, and a walk finds the "
    "nearest "
    "centroids by code") {
  const size_t dim = 24, stride = 32, k = 3000, ef = 48, n_queries = 60;
  const auto centroids = clumped_centroids(k, dim, stride, 71);
  ivf::CoarseCodes codes;
  codes.build(centroids.data(), stride, k, dim);
  REQUIRE(!codes.empty());
  ivf::CoarseGraph graph;
  graph.build(codes);
  REQUIRE(!graph.empty());
  const auto& offsets = graph.offsets();
  const auto& links = graph.links();
  REQUIRE(offsets.size() == k + 1);
  REQUIRE(offsets.back() == links.size());
  // Links are to other centroids, each at most once; every centroid has some.
  for (uint32_t j = 0; j < k; ++j) {
    CAPTURE(j);
    REQUIRE(offsets[j + 1] > offsets[j]);
    std::vector<uint32_t> own(links.begin() + offsets[j], links.begin() + offsets[j + 1]);
    for (uint32_t t : own) REQUIRE((t < k && t != j));
    std::sort(own.begin(), own.end());
    CHECK(std::adjacent_find(own.begin(), own.end()) == own.end());
  }
  // Every centroid reachable from the first entry.
  std::vector<uint8_t> seen(k, 0);
  REQUIRE(!graph.entries().empty());
  const uint32_t first = graph.entries()[0];
  std::vector<uint32_t> todo{first};
  seen[first] = 1;
  size_t reached = 1;
  while (!todo.empty()) {
    const uint32_t v = todo.back();
    todo.pop_back();
    for (uint32_t e = offsets[v]; e < offsets[v + 1]; ++e) {
      if (!seen[links[e]]) seen[links[e]] = 1, ++reached, todo.push_back(links[e]);
    }
  }
  CHECK(reached == k);

  // Walks: the beam holds distinct centroids nearest first, with their code
  // distances; it finds most of the 10 nearest by code.
  const auto queries = clustered(n_queries, dim, Metric::kL2, 72, 300);
  std::vector<uint32_t> all(k);
  std::iota(all.begin(), all.end(), 0u);
  std::vector<float> by_code(k);
  std::vector<int16_t> qc;
  ivf::CoarseGraph::Scratch scratch;
  size_t found = 0;
  for (size_t q = 0; q < n_queries; ++q) {
    CAPTURE(q);
    REQUIRE(codes.quantize(queries.data() + q * dim, qc));
    codes.l2_gather(qc.data(), all.data(), k, by_code.data());
    graph.search(codes, qc.data(), ef, scratch);
    const auto& beam = scratch.beam;
    REQUIRE(beam.size() == ef);
    std::set<uint32_t> distinct;
    for (size_t i = 0; i < beam.size(); ++i) {
      REQUIRE(beam[i].second < k);
      distinct.insert(beam[i].second);
      CHECK(beam[i].first == by_code[beam[i].second]);
      if (i > 0) CHECK(beam[i - 1].first <= beam[i].first);
    }
    CHECK(distinct.size() == ef);
    std::vector<uint32_t> order = all;
    std::partial_sort(order.begin(), order.begin() + 10, order.end(),
                      [&](uint32_t a, uint32_t b) { return by_code[a] < by_code[b]; });
    // Ties at the 10th distance count as found either way.
    const float tenth = by_code[order[9]];
    for (size_t i = 0; i < 10; ++i) {
      found += beam[i].first <= tenth ? 1 : 0;
    }
  }
  CHECK(double(found) / double(10 * n_queries) >= 0.9);

  // No graph for fewer than two centroids or without codes.
  ivf::CoarseCodes one;
  one.build(centroids.data(), stride, 1, dim);
  ivf::CoarseGraph none;
  none.build(one);
  CHECK(none.empty());
  none.build(ivf::CoarseCodes{});
  CHECK(none.empty());
  none.search(codes, qc.data(), ef, scratch);
  CHECK(scratch.beam.empty());
}

TEST_CASE(
    "ivf: a filtered search that widens past the lists the coarse graph found goes on through "
    "every other list") {
  const size_t dim = 16, lists = 400, k = 10;
  for (Pq pq : {Pq::kNone, Pq::k4BitFastScan}) {
    CAPTURE(pq_name(pq));
    Fixture f(dim, Metric::kL2);
    IvfIndex::Options options = quick();
    options.coarse_codes_from_bytes = 0;
    options.coarse_graph_from_lists = 0;
    options.plan_filters = false;  // widen through the lists, no exact scan
    const IvfConfig config = IvfConfig{}.with_n_clusters(lists).with_n_probes(2).with_pq(pq);
    IvfIndex index(f.store, config, options);
    REQUIRE(index.insert_batch(f.add_rows(clustered(lists * 40, dim, Metric::kL2, 81, 200))).ok());
    REQUIRE(index.trained());
    REQUIRE(index.ranks_lists_by_graph());
    const auto queries = clustered(12, dim, Metric::kL2, 82, 200);
    // One match in each of a few lists, some among the 20 the walk ranks
    // (2 probes: 2 * 2 + 16), most far beyond: fewer than k, so the search
    // widens through every list and returns each match once.
    std::vector<uint8_t> few(f.store.slot_end(), 0);
    std::set<uint32_t> want;
    for (uint32_t list : {0u, 57u, 133u, 250u, uint32_t(lists - 1)}) {
      for (uint32_t slot : f.slots) {
        if (index.list_of(slot) == list) {
          few[slot] = 1;
          want.insert(slot);
          break;
        }
      }
    }
    REQUIRE(want.size() == 5);
    MaskPredicate filter_few(few);
    // Many matches, in every 97th list: k hits, each a match, once, with
    // its exact distance, nearest first.
    std::vector<uint8_t> many(f.store.slot_end(), 0);
    for (uint32_t slot : f.slots) many[slot] = index.list_of(slot) % 97 == 3;
    MaskPredicate filter_many(many);
    const kernels::DistanceKernels& kern = kernels::active_kernels();
    for (size_t q = 0; q < queries.size() / dim; ++q) {
      CAPTURE(q);
      const float* query = queries.data() + q * dim;
      QueryScorer scorer(f.store, query);
      const auto got_few = index.search(scorer, k, AnnKnobs{}, &filter_few);
      std::set<uint32_t> slots;
      for (const auto& c : got_few) slots.insert(c.slot);
      CHECK(got_few.size() == want.size());
      CHECK(slots == want);
      const auto got_many = index.search(scorer, k, AnnKnobs{}, &filter_many);
      REQUIRE(got_many.size() == k);
      slots.clear();
      for (size_t i = 0; i < k; ++i) {
        const uint32_t slot = got_many[i].slot;
        CHECK(many[slot] == 1);
        slots.insert(slot);
        const float d = kern.l2_squared(query, f.store.row(slot), dim);
        CHECK(got_many[i].distance == doctest::Approx(d).epsilon(1e-5));
        if (i > 0) CHECK(got_many[i - 1].distance <= got_many[i].distance);
      }
      CHECK(slots.size() == k);
    }
  }
}

TEST_CASE("ivf: load rejects another dim, metric or code kind") {
  Fixture f(8, Metric::kL2);
  IvfIndex index(f.store, IvfConfig{}.with_n_clusters(4), quick());
  REQUIRE(index.insert_batch(f.add_rows(clustered(300, 8, Metric::kL2, 29))).ok());
  FakeSink sink;
  index.save(sink);
  FakeSource source(sink.sections);
  auto other_codes = IvfIndex::load(f.store, IvfConfig{}.with_pq(Pq::k4BitFastScan), source);
  CHECK(other_codes.status().code() == StatusCode::kConfigMismatch);
  VectorStore other_dim(4, Metric::kL2), other_metric(8, Metric::kDot);
  CHECK(IvfIndex::load(other_dim, IvfConfig{}, source).status().code() ==
        StatusCode::kConfigMismatch);
  CHECK(IvfIndex::load(other_metric, IvfConfig{}, source).status().code() ==
        StatusCode::kConfigMismatch);
}

void load_damaged(const VectorStore& store, const IvfConfig& config,
                  const std::map<uint32_t, std::vector<uint8_t>>& sections, size_t* rejected) {
  FakeSource source(sections);
  auto loaded = IvfIndex::load(store, config, source, quick());
  if (!loaded.ok()) {
    const StatusCode code = loaded.status().code();
    CHECK((code == StatusCode::kCorruption || code == StatusCode::kConfigMismatch));
    ++*rejected;
    return;
  }
  // Accepted: it must be a consistent index that answers queries.
  REQUIRE(loaded->check().ok());
  const std::vector<float> q(store.dim(), 0.5f);
  QueryScorer scorer(store, q.data());
  auto hits = loaded->search(scorer, 5, AnnKnobs{}, nullptr);
  CHECK(hits.size() == std::min<size_t>(5, store.size()));
}

TEST_CASE("ivf: every flipped byte, truncation and missing section is caught or harmless") {
  for (Pq pq : {Pq::kNone, Pq::k4BitFastScan}) {
    CAPTURE(pq_name(pq));
    Fixture f(4, Metric::kL2);
    const IvfConfig config = IvfConfig{}.with_n_clusters(3).with_pq(pq);
    IvfIndex index(f.store, config, quick());
    REQUIRE(index.insert_batch(f.add_rows(clustered(40, 4, Metric::kL2, 30, 3))).ok());
    REQUIRE(index.optimize().ok());
    f.remove(index, 7);
    FakeSink sink;
    index.save(sink);
    REQUIRE(sink.sections.size() == (pq == Pq::kNone ? 5u : 6u));
    size_t rejected = 0, trials = 0;
    for (const auto& [kind, bytes] : sink.sections) {
      CAPTURE(kind);
      for (size_t i = 0; i < bytes.size(); ++i) {
        for (uint8_t flip : {uint8_t{0x01}, uint8_t{0x80}, uint8_t{0xFF}}) {
          auto damaged = sink.sections;
          damaged[kind][i] ^= flip;
          load_damaged(f.store, config, damaged, &rejected);
          ++trials;
        }
      }
      for (size_t len = 0; len < bytes.size(); ++len) {
        auto damaged = sink.sections;
        damaged[kind].resize(len);
        const size_t before = rejected;
        load_damaged(f.store, config, damaged, &rejected);
        CHECK(rejected == before + 1);  // a short section is always caught
        ++trials;
      }
      auto missing = sink.sections;
      missing.erase(kind);
      const size_t before = rejected;
      load_damaged(f.store, config, missing, &rejected);
      CHECK(rejected == before + 1);
    }
    MESSAGE(trials, " damaged loads, ", rejected, " rejected");
    CHECK(rejected > trials / 10);
  }
}

// ---- Through the database.

TEST_CASE("ivf: the database serves IVF indexes and refuses PQ under L1 at open") {
  auto refused = Database::open_in_memory(
      Config(8, Metric::kL1).index(IvfConfig{}.with_pq(Pq::k4BitFastScan)));
  CHECK(refused.status().code() == StatusCode::kUnsupported);

  for (Pq pq : {Pq::kNone, Pq::k4BitFastScan}) {
    CAPTURE(pq_name(pq));
    auto db = Database::open_in_memory(Config(16, Metric::kL2).index(IvfConfig{}.with_pq(pq)));
    REQUIRE(db.ok());
    const auto rows = clustered(3000, 16, Metric::kL2, 31);
    std::vector<VectorId> ids;
    for (size_t i = 0; i < 3000; ++i) ids.emplace_back(i);
    std::vector<Metadata> meta(3000);
    std::vector<const Metadata*> meta_ptrs;
    for (size_t i = 0; i < 3000; ++i) {
      meta[i].set("even", Value(i % 2 == 0));
      meta_ptrs.push_back(&meta[i]);
    }
    REQUIRE(db->upsert_batch(ids, rows, meta_ptrs).ok());
    const std::span<const float> q(rows.data() + 16 * 10, 16);
    auto hits = db->search(q, 5);
    REQUIRE(hits.ok());
    REQUIRE(hits->size() == 5);
    CHECK(hits->front().id.as_u64() == 10);
    SearchParams p;
    p.k = 10;
    p.n_probes = 1000;  // more than the lists: every list
    auto all = db->search(q, p);
    REQUIRE(all.ok());
    CHECK(all->size() == 10);
    const Filter odd = Filter::eq("even", Value(false));
    auto filtered = db->search(q, 10, odd);
    REQUIRE(filtered.ok());
    CHECK(filtered->size() == 10);
    for (const Hit& h : *filtered) CHECK(h.id.as_u64() % 2 == 1);
    REQUIRE(db->remove(VectorId(10)).ok());
    auto after = db->search(q, 5);
    REQUIRE(after.ok());
    CHECK(after->front().id.as_u64() != 10);
    CHECK(db->optimize().ok());
  }
}

TEST_CASE(
    "ivf: a database file keeps its trained IVF index across close and reopen, without "
    "retraining") {
  for (Pq pq : {Pq::kNone, Pq::k8Bit, Pq::k4BitFastScan}) {
    CAPTURE(pq_name(pq));
    testing::TempDir dir;
    const auto path = dir / "ivf.iqdb";
    const size_t dim = 16;
    const Config config =
        Config(dim, Metric::kL2).index(IvfConfig{}.with_n_clusters(16).with_pq(pq));
    // The first batch trains the index (8-bit PQ waits for 4096 rows); the
    // second comes from other centres and is filed into the trained lists,
    // too few rows to retrain. A retrain on all rows would move the
    // centroids, which one-probe searches show.
    const auto first = clustered(pq == Pq::k8Bit ? 4200 : 2000, dim, Metric::kL2, 50);
    const auto second = clustered(1000, dim, Metric::kL2, 51, 5);
    std::vector<float> all = first;
    all.insert(all.end(), second.begin(), second.end());
    const size_t n = all.size() / dim;
    std::vector<VectorId> ids;
    for (size_t i = 0; i < n; ++i) ids.emplace_back(i);
    const std::span<const VectorId> first_ids(ids.data(), first.size() / dim);
    const std::span<const VectorId> second_ids(ids.data() + first_ids.size(), n - first_ids.size());
    // Queries near both batches' centres.
    auto queries = clustered(20, dim, Metric::kL2, 52);
    const auto near_second = clustered(20, dim, Metric::kL2, 53, 5);
    queries.insert(queries.end(), near_second.begin(), near_second.end());
    SearchParams one_probe;
    one_probe.k = 10;
    one_probe.n_probes = 1;
    auto answers = [&](const Database& db) {
      std::vector<std::vector<std::pair<uint64_t, float>>> out;
      for (size_t q = 0; q < 40; ++q) {
        auto hits = db.search(std::span<const float>(queries.data() + q * dim, dim), one_probe);
        REQUIRE(hits.ok());
        auto& row = out.emplace_back();
        for (const Hit& h : *hits) row.emplace_back(h.id.as_u64(), h.distance);
      }
      return out;
    };

    std::vector<std::vector<std::pair<uint64_t, float>>> before;
    {
      auto db = Database::open(path, config);
      REQUIRE(db.ok());
      REQUIRE(db->upsert_batch(first_ids, first).ok());
      REQUIRE(db->upsert_batch(second_ids, second).ok());
      REQUIRE(db->remove(VectorId(3)).ok());
      before = answers(*db);
      REQUIRE(db->close().ok());
    }
    {
      // Reopened with a flat config: the stored index kind wins.
      auto db = Database::open(path, Config(dim, Metric::kL2));
      REQUIRE_MESSAGE(db.ok(), db.status().to_string());
      REQUIRE(db->index_kind().is_ivf());
      CHECK(db->index_kind().ivf() == config.index_kind().ivf());
      CHECK(db->size() == n - 1);
      CHECK(answers(*db) == before);
      // Still writable: a new row is found, a removed one stays gone.
      const std::vector<float> extra(dim, 0.25f);
      REQUIRE(db->upsert(VectorId(n + 7), extra).ok());
      auto hits = db->search(extra, 1);
      REQUIRE(hits.ok());
      REQUIRE(hits->size() == 1);
      CHECK(hits->front().id.as_u64() == n + 7);
      REQUIRE(db->close().ok());
    }
    // The control: the same rows trained in one go answer differently at
    // one probe, so the equality above is not an accident of the data.
    auto fresh = Database::open_in_memory(config);
    REQUIRE(fresh.ok());
    REQUIRE(fresh->upsert_batch(ids, all).ok());
    REQUIRE(fresh->remove(VectorId(3)).ok());
    CHECK(answers(*fresh) != before);
  }
}

}  // namespace
}  // namespace iqdb::index

namespace iqdb::index {
namespace {

// ---- Storage types: the lists hold the store's own representation.

TEST_CASE(
    "ivf: every storage type; IVF-Flat lists hold code rows, exact on what the store scores") {
  const VectorStorage storages[] = {VectorStorage::u8(),      VectorStorage::f16(),
                                    VectorStorage::bf16(),    VectorStorage::sq8(),
                                    VectorStorage::f16(true), VectorStorage::sq8(true)};
  for (const VectorStorage& storage : storages) {
    for (Metric metric :
         {Metric::kL2, Metric::kCosine, Metric::kDot, Metric::kL1, Metric::kHamming}) {
      for (Pq pq : {Pq::kNone, Pq::k4BitFastScan}) {
        if (!IvfIndex::check_config(IvfConfig{}.with_pq(pq), 24, metric).ok()) continue;
        CAPTURE(storage_name(storage));
        CAPTURE(metric_name(metric));
        CAPTURE(pq_name(pq));
        Fixture f(24, metric, storage);
        IvfIndex index(f.store, IvfConfig{}.with_n_clusters(20).with_pq(pq), quick());
        const size_t n = 1500;
        REQUIRE(index.insert_batch(f.add_rows(as_bytes(clustered(n, 24, metric, 60)))).ok());
        REQUIRE(index.trained());
        CHECK(index.check().ok());
        const auto queries = as_bytes(clustered(20, 24, metric, 61));
        if (pq == Pq::kNone) {
          // The lists hold code rows, not f32 copies of the rows.
          CHECK(index.memory_bytes() < n * f.store.stride_floats() * sizeof(float));
        }
        if (f.store.has_f32_rows()) {
          // Lossy codes reranked on the f32 rows: the distances returned are
          // exact, and a wide shortlist over every list finds the exact answer.
          CHECK(recall(f.store, index, queries, 10, {index.n_lists(), 10}) >= 0.99);
        } else {
          // Scored on the store's codes as the flat index scores them: every
          // list probed is the flat answer.
          check_exact(f.store, index, queries, 10, {index.n_lists(), pq == Pq::kNone ? 0 : n});
        }
        CHECK(recall(f.store, index, queries, 10, {}) >= 0.85);
        // Filtered: k matches come back when k exist.
        std::vector<uint8_t> mask(f.store.slot_end(), 0);
        for (uint32_t s = 0; s < mask.size(); s += 7) mask[s] = 1;
        MaskPredicate every7(mask);
        QueryScorer scorer(f.store, queries.data());
        auto hits = index.search(scorer, 10, IvfIndex::SearchOptions{}, &every7);
        CHECK(hits.size() == 10);
        for (const auto& h : hits) CHECK(every7.matches(h.slot));
      }
    }
  }
}

TEST_CASE("ivf: over SQ8 rows the index trains only once the store has learnt its codes") {
  IvfIndex::Options options = quick();
  options.min_train_rows = 100;
  Fixture f(16, Metric::kL2, VectorStorage::sq8());
  IvfIndex index(f.store, IvfConfig{}.with_n_clusters(8), options);
  const auto rows = clustered(VectorStorage::kSq8TrainingRows + 200, 16, Metric::kL2, 62);
  const std::vector<float> first(rows.begin(), rows.begin() + 500 * 16);
  REQUIRE(index.insert_batch(f.add_rows(first)).ok());
  CHECK_FALSE(f.store.has_codes());
  CHECK_FALSE(index.trained());  // past min_train_rows, but the codes do not exist yet
  CHECK(index.optimize().ok());
  CHECK_FALSE(index.trained());
  const auto queries = clustered(10, 16, Metric::kL2, 63);
  check_exact(f.store, index, queries, 10, {});  // answered by the exact scan meanwhile
  for (size_t i = 500; i < rows.size() / 16; ++i) {
    const uint32_t slot = f.add(rows.data() + i * 16);
    f.slots.push_back(slot);
    REQUIRE(index.insert(slot).ok());
  }
  REQUIRE(f.store.has_codes());
  CHECK(index.trained());
  CHECK(index.check().ok());
  check_exact(f.store, index, queries, 10, {index.n_lists(), 0});
}

TEST_CASE("ivf: code-row lists survive save and load; a store without those rows is refused") {
  for (const VectorStorage& storage : {VectorStorage::u8(), VectorStorage::f16(true)}) {
    CAPTURE(storage_name(storage));
    Fixture f(16, Metric::kL2, storage);
    const IvfConfig config = IvfConfig{}.with_n_clusters(12);
    IvfIndex index(f.store, config, quick());
    REQUIRE(index.insert_batch(f.add_rows(as_bytes(clustered(1500, 16, Metric::kL2, 64)))).ok());
    REQUIRE(index.trained());
    auto loaded = save_and_load(f.store, index, config);
    REQUIRE_MESSAGE(loaded.ok(), loaded.status().to_string());
    CHECK(loaded->check().ok());
    check_same_answers(f.store, index, *loaded, as_bytes(clustered(20, 16, Metric::kL2, 65)));
    REQUIRE(loaded->insert_batch(f.add_rows(as_bytes(clustered(50, 16, Metric::kL2, 66)))).ok());
    CHECK(loaded->check().ok());

    // The same sections over an f32 store (same ids, same rows): its lists
    // would hold rows that store does not keep.
    Fixture plain(16, Metric::kL2);
    for (size_t i = 0; i < 1500; ++i) {
      std::vector<float> row(16);
      f.store.decode_row(f.slots[i], row.data());
      plain.slots.push_back(plain.add(row.data()));
    }
    CHECK(save_and_load(plain.store, index, config).status().code() == StatusCode::kCorruption);
  }
}

TEST_CASE("ivf: the database serves IVF over compact storage types, in memory and from a file") {
  testing::TempDir dir;
  for (const VectorStorage& storage :
       {VectorStorage::u8(), VectorStorage::sq8(), VectorStorage::f16(true)}) {
    CAPTURE(storage_name(storage));
    const std::string path = (dir / ("ivf-" + storage_name(storage) + ".iqdb")).string();
    const Config config =
        Config(16, Metric::kL2).storage(storage).index(IvfConfig{}.with_n_clusters(16));
    const auto rows = as_bytes(clustered(3000, 16, Metric::kL2, 67));
    std::vector<VectorId> ids;
    for (size_t i = 0; i < 3000; ++i) ids.emplace_back(i);
    const std::span<const float> q(rows.data() + 16 * 10, 16);
    std::vector<uint64_t> before;
    {
      auto db = Database::open(path, config);
      REQUIRE_MESSAGE(db.ok(), db.status().to_string());
      REQUIRE(db->upsert_batch(ids, rows).ok());
      auto hits = db->search(q, 10);
      REQUIRE(hits.ok());
      REQUIRE(hits->size() == 10);
      CHECK(hits->front().id.as_u64() == 10);
      for (const Hit& h : *hits) before.push_back(h.id.as_u64());
      REQUIRE(db->close().ok());
    }
    auto db = Database::open(path, Config(16, Metric::kL2));
    REQUIRE_MESSAGE(db.ok(), db.status().to_string());
    CHECK(db->storage() == storage);
    auto hits = db->search(q, 10);
    REQUIRE(hits.ok());
    REQUIRE(hits->size() == before.size());
    for (size_t i = 0; i < before.size(); ++i) CHECK((*hits)[i].id.as_u64() == before[i]);
  }
}

}  // namespace
}  // namespace iqdb::index
