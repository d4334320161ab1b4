// HNSW on real data (Fashion-MNIST from Debian's package, L2): recall@10 at
// the default ef against the exact scan, and a graph that lost half of its
// nodes to deletes and took as many new rows into the freed slots searches
// as well as one built fresh from the same rows.
//
// A 20,000-row subset of the training images keeps the suite near a minute
// on two cores; queries are the first 500 test images.

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "dataset/idx.h"
#include "index/flat.h"
#include "index/hnsw.h"
#include "index/scorer.h"
#include "index/vector_store.h"

namespace iqdb::index {
namespace {

constexpr size_t kBase = 20'000;
constexpr size_t kQueries = 500;
constexpr size_t kK = 10;

const dataset::FashionMnist& fashion_mnist() {
  static const dataset::FashionMnist data = [] {
    auto loaded = dataset::load_fashion_mnist();
    REQUIRE_MESSAGE(loaded.ok(), loaded.status().to_string());
    return std::move(*loaded);
  }();
  return data;
}

// Exact k-th distances of the queries over the store's live rows.
std::vector<float> kth_distances(const VectorStore& store, const std::vector<float>& queries) {
  std::vector<float> kth;
  for (size_t q = 0; q < kQueries; ++q) {
    QueryScorer scorer(store, queries.data() + q * store.dim());
    kth.push_back(flat_search(scorer, kK, nullptr).back().distance);
  }
  return kth;
}

// Hits within the exact k-th distance (ties count), over all queries.
double recall(const VectorStore& store, const HnswIndex& index, const std::vector<float>& queries,
              const std::vector<float>& kth, size_t ef) {
  size_t hits = 0;
  for (size_t q = 0; q < kQueries; ++q) {
    QueryScorer scorer(store, queries.data() + q * store.dim());
    for (const auto& c : index.search(scorer, kK, ef, nullptr)) {
      REQUIRE(store.is_live(c.slot));
      hits += c.distance <= kth[q] * (1 + 1e-6f);
    }
  }
  return double(hits) / double(kQueries * kK);
}

TEST_CASE("hnsw on Fashion-MNIST: recall@10 >= 0.95 at the default ef") {
  const auto& data = fashion_mnist();
  const size_t dim = data.dim;
  VectorStore store(dim, Metric::kL2);
  std::vector<uint32_t> slots;
  for (size_t i = 0; i < kBase; ++i) {
    slots.push_back(
        store.upsert(VectorId(uint64_t{i}), {data.train.data() + i * dim, dim}, nullptr)->slot);
  }
  HnswIndex index(store, HnswConfig{});
  REQUIRE(index.insert_batch(slots).ok());
  REQUIRE(index.check().ok());
  CHECK(index.uses_sq8());
  const auto kth = kth_distances(store, data.test);
  const double r = recall(store, index, data.test, kth, 0);
  MESSAGE("Fashion-MNIST 20k: recall@10 at ef 64 = ", r);
  CHECK(r >= 0.95);
}

TEST_CASE(
    "hnsw on Fashion-MNIST: every one of the 60k training images is reachable and finds itself") {
  const auto& data = fashion_mnist();
  const size_t dim = data.dim;
  const size_t n = data.train.size() / dim;
  VectorStore store(dim, Metric::kL2);
  std::vector<uint32_t> slots;
  for (size_t i = 0; i < n; ++i) {
    slots.push_back(
        store.upsert(VectorId(uint64_t{i}), {data.train.data() + i * dim, dim}, nullptr)->slot);
  }
  HnswIndex index(store, HnswConfig{});
  REQUIRE(index.insert_batch(slots).ok());
  REQUIRE(index.check().ok());
  CHECK(index.unreachable() == 0);
  // A row is found when it, or an identical image, comes back at distance 0.
  auto finds_itself = [&](size_t i, size_t ef) {
    QueryScorer scorer(store, store.row(slots[i]));
    const auto found = index.search(scorer, kK, ef, nullptr);
    return std::any_of(found.begin(), found.end(),
                       [&](const auto& c) { return c.slot == slots[i] || c.distance == 0.0f; });
  };
  std::vector<size_t> lost;
  for (size_t i = 0; i < n; ++i) {
    if (!finds_itself(i, 0)) lost.push_back(i);
  }
  size_t lost_wide = 0;
  for (size_t i : lost) lost_wide += !finds_itself(i, 500);
  MESSAGE("Fashion-MNIST 60k: rows not found by searching for themselves: ", lost.size(),
          " at ef 64, ", lost_wide, " at ef 500");
  // The parallel build is not deterministic: over repeated runs 39-51 rows
  // missed at ef 64 and 0-4 at ef 500 (before the repair: 121 rows could
  // not be reached at all). The bounds leave room for that spread.
  CHECK(lost.size() <= n / 600);
  CHECK(lost_wide <= 10);
}

TEST_CASE("hnsw on Fashion-MNIST: 50 % deleted and refilled stays within 0.01 of a fresh build") {
  const auto& data = fashion_mnist();
  const size_t dim = data.dim;
  VectorStore store(dim, Metric::kL2);
  std::vector<uint32_t> slots;
  for (size_t i = 0; i < kBase; ++i) {
    slots.push_back(
        store.upsert(VectorId(uint64_t{i}), {data.train.data() + i * dim, dim}, nullptr)->slot);
  }
  HnswIndex churned(store, HnswConfig{});
  REQUIRE(churned.insert_batch(slots).ok());

  // Delete half, one record at a time as the database does.
  std::vector<uint32_t> order = slots;
  std::shuffle(order.begin(), order.end(), std::mt19937(2024));
  order.resize(kBase / 2);
  for (uint32_t s : order) {
    REQUIRE(store.remove(store.id(s)) == s);
    churned.remove(s);
  }
  REQUIRE(churned.check().ok());
  // Refill with new images; the store hands out the freed slots.
  std::vector<uint32_t> added;
  for (size_t i = kBase; i < kBase + kBase / 2; ++i) {
    auto r = store.upsert(VectorId(uint64_t{i}), {data.train.data() + i * dim, dim}, nullptr);
    REQUIRE(r.ok());
    CHECK(r->slot < kBase);
    REQUIRE(churned.insert(r->slot).ok());
    added.push_back(r->slot);
  }
  REQUIRE(churned.check().ok());
  CHECK(churned.size() == kBase);
  // Single writes repair the graph every size/64 of them: a handful of
  // nodes may wait for the next pass; an explicit pass leaves none.
  const size_t waiting = churned.unreachable();
  MESSAGE("unreachable after single deletes and inserts: ", waiting);
  CHECK(waiting <= kBase / 1000);
  churned.repair_reachability();
  CHECK(churned.unreachable() == 0);

  // The same live rows, built fresh in insertion order.
  std::vector<uint32_t> live;
  for (uint32_t s = 0; s < store.slot_end(); ++s) {
    if (store.is_live(s)) live.push_back(s);
  }
  std::sort(live.begin(), live.end(),
            [&](uint32_t a, uint32_t b) { return store.sequence(a) < store.sequence(b); });
  HnswIndex fresh(store, HnswConfig{});
  REQUIRE(fresh.insert_batch(live).ok());

  const auto kth = kth_distances(store, data.test);
  for (size_t ef : {size_t{10}, size_t{16}, size_t{64}}) {
    const double after = recall(store, churned, data.test, kth, ef);
    const double base = recall(store, fresh, data.test, kth, ef);
    MESSAGE("ef ", ef, ": recall after delete + refill ", after, ", fresh build ", base);
    CHECK(after >= base - 0.01);
  }
}

}  // namespace
}  // namespace iqdb::index
