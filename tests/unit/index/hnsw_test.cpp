// Tests for src/index/hnsw*: small graphs, recall for every metric against
// the exact scan, filtered search at several selectivities, delete/repair
// invariants and slot reuse, in-place updates, persistence (round trip,
// every byte flipped, every truncation) and concurrent insert + search.

#include "index/hnsw.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "index/flat.h"
#include "index/scorer.h"
#include "index/vector_store.h"
#include "iqdb/iqdb.hpp"
#include "unit/util/temp_dir.h"
#include "unit/index/fake_source.h"

namespace iqdb::index {
namespace {

// ---- Data.

// n rows in `clusters` clusters, each a random 12-dimensional patch (plus a
// little isotropic noise) around a Gaussian centre: like real embeddings,
// the intrinsic dimension is far below `dim`. Dot rows get random norms.
// Hamming rows are small integers (each dimension flips away from its
// centre with p = 0.1). The clusters depend only on (dim, metric,
// clusters), the points on `seed`: queries drawn with another seed come
// from the same distribution.
std::vector<float> clustered(size_t n, size_t dim, Metric metric, uint32_t seed,
                             size_t clusters = 40) {
  constexpr size_t kPatchDim = 12;
  std::mt19937 world(static_cast<uint32_t>(dim * 131 + clusters * 7 + static_cast<size_t>(metric)));
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_int_distribution<int> small(0, 3);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  std::vector<float> centres(clusters * dim), bases(clusters * dim * kPatchDim);
  for (auto& v : centres) {
    v = metric == Metric::kHamming ? float(small(world)) : 4.0f * normal(world);
  }
  for (auto& v : bases) v = normal(world) * 0.6f;
  std::vector<float> rows(n * dim);
  float z[kPatchDim];
  for (size_t i = 0; i < n; ++i) {
    const size_t cluster = rng() % clusters;
    const float* c = centres.data() + cluster * dim;
    const float* basis = bases.data() + cluster * dim * kPatchDim;
    const float scale = metric == Metric::kDot ? 0.5f + unit(rng) : 1.0f;
    for (float& v : z) v = normal(rng);
    for (size_t d = 0; d < dim; ++d) {
      if (metric == Metric::kHamming) {
        rows[i * dim + d] = unit(rng) < 0.1f ? float(small(rng)) : c[d];
        continue;
      }
      float v = c[d] + 0.1f * normal(rng);
      for (size_t j = 0; j < kPatchDim; ++j) v += basis[d * kPatchDim + j] * z[j];
      rows[i * dim + d] = scale * v;
    }
  }
  return rows;
}

struct Fixture {
  Fixture(size_t dim, Metric metric) : store(dim, metric) {}
  VectorStore store;
  std::vector<uint32_t> slots;
  uint64_t next_id = 0;

  uint32_t add(const float* v) {
    auto r = store.upsert(VectorId(next_id++), {v, store.dim()}, nullptr);
    REQUIRE(r.ok());
    return r->slot;
  }
  void add_rows(const std::vector<float>& rows) {
    for (size_t i = 0; i < rows.size() / store.dim(); ++i) {
      slots.push_back(add(rows.data() + i * store.dim()));
    }
  }
};

class MaskPredicate : public SlotPredicate {
 public:
  explicit MaskPredicate(std::vector<uint8_t> mask) : mask_(std::move(mask)) {}
  bool matches(uint32_t slot) const override { return slot < mask_.size() && mask_[slot]; }

 private:
  std::vector<uint8_t> mask_;
};

// Fraction of the true k nearest (by distance, so ties count as hits) that
// the approximate result holds, averaged over the queries.
double recall(const VectorStore& store, const HnswIndex& index, const std::vector<float>& queries,
              size_t k, size_t ef, const SlotPredicate* filter = nullptr,
              bool require_exactly_k = false) {
  const size_t dim = store.dim();
  const size_t nq = queries.size() / dim;
  double total = 0;
  for (size_t q = 0; q < nq; ++q) {
    QueryScorer scorer(store, queries.data() + q * dim);
    auto exact = flat_search(scorer, k, filter);
    auto approx = index.search(scorer, k, ef, filter);
    if (require_exactly_k) REQUIRE(approx.size() == exact.size());
    for (size_t i = 1; i < approx.size(); ++i) CHECK(!(approx[i] < approx[i - 1]));
    if (exact.empty()) {
      total += 1;
      continue;
    }
    const float kth = exact.back().distance;
    size_t hits = 0;
    for (const auto& c : approx) {
      if (filter) REQUIRE(filter->matches(c.slot));
      REQUIRE(store.is_live(c.slot));
      if (c.distance <= kth + 1e-4f * std::fabs(kth)) ++hits;
    }
    total += double(std::min(hits, exact.size())) / double(exact.size());
  }
  return total / double(nq);
}

HnswIndex::Options options_for_test() {
  HnswIndex::Options o;
  o.sq8_min_rows = 256;
  return o;
}

// ---- Small graphs.

TEST_CASE("hnsw: an empty index returns nothing and a tiny one returns everything exactly") {
  Fixture f(4, Metric::kL2);
  HnswIndex index(f.store, HnswConfig{});
  const float q[4] = {0, 0, 0, 0};
  QueryScorer scorer(f.store, q);
  CHECK(index.search(scorer, 5, 0, nullptr).empty());
  CHECK(index.entry_point() == kNoSlot);
  CHECK(index.check().ok());

  std::vector<float> rows;
  for (int i = 0; i < 9; ++i) rows.insert(rows.end(), {float(i), float(i % 3), 1.0f, -float(i)});
  f.add_rows(rows);
  for (uint32_t s : f.slots) REQUIRE(index.insert(s).ok());
  CHECK(index.size() == 9);
  CHECK(index.check().ok());
  CHECK(index.insert(f.slots[3]).code() == StatusCode::kInvalidArgument);
  auto got = index.search(scorer, 20, 0, nullptr);
  auto want = flat_search(scorer, 20, nullptr);
  REQUIRE(got.size() == 9);
  for (size_t i = 0; i < got.size(); ++i) {
    CHECK(got[i].slot == want[i].slot);
    CHECK(got[i].distance == doctest::Approx(want[i].distance));
  }
  CHECK(index.search(scorer, 0, 0, nullptr).empty());
}

TEST_CASE("hnsw: a single node is the entry point and is found") {
  Fixture f(3, Metric::kCosine);
  HnswIndex index(f.store, HnswConfig{});
  const float v[3] = {1, 2, 3};
  const uint32_t s = f.add(v);
  REQUIRE(index.insert(s).ok());
  CHECK(index.entry_point() == s);
  QueryScorer scorer(f.store, v);
  auto got = index.search(scorer, 3, 0, nullptr);
  REQUIRE(got.size() == 1);
  CHECK(got[0].slot == s);
  CHECK(got[0].distance == doctest::Approx(0.0f).epsilon(1e-5));
}

TEST_CASE("hnsw: equal distances come back in insertion order") {
  Fixture f(2, Metric::kL2);
  HnswIndex index(f.store, HnswConfig{});
  const float same[2] = {1, 1};
  for (int i = 0; i < 6; ++i) REQUIRE(index.insert(f.add(same)).ok());
  QueryScorer scorer(f.store, same);
  auto got = index.search(scorer, 6, 0, nullptr);
  REQUIRE(got.size() == 6);
  for (size_t i = 1; i < got.size(); ++i) CHECK(got[i - 1].order < got[i].order);
}

// ---- Recall.

TEST_CASE("hnsw: recall@10 >= 0.95 at the default ef for every metric (5k x 32)") {
  const Metric metrics[] = {Metric::kL2, Metric::kCosine, Metric::kDot, Metric::kL1,
                            Metric::kHamming};
  for (Metric metric : metrics) {
    CAPTURE(metric_name(metric));
    Fixture f(32, metric);
    f.add_rows(clustered(5000, 32, metric, 11));
    HnswIndex index(f.store, HnswConfig{});
    REQUIRE(index.insert_batch(f.slots).ok());
    CHECK(index.check().ok());
    CHECK(index.uses_sq8() == (metric != Metric::kHamming));
    const auto queries = clustered(100, 32, metric, 99);
    const double r = recall(f.store, index, queries, 10, 0);
    MESSAGE(metric_name(metric), " recall@10 = ", r);
    CHECK(r >= 0.95);
  }
}

TEST_CASE(
    "hnsw: quantized_walk = false walks the f32 rows: a dim-byte copy less, same recall target") {
  Fixture f(32, Metric::kL2);
  f.add_rows(clustered(3000, 32, Metric::kL2, 5));
  HnswIndex plain(f.store, HnswConfig{}.with_quantized_walk(false));
  REQUIRE(plain.insert_batch(f.slots).ok());
  CHECK(!plain.uses_sq8());
  CHECK(plain.check().ok());
  CHECK(recall(f.store, plain, clustered(100, 32, Metric::kL2, 6), 10, 0) >= 0.95);
  HnswIndex quantized(f.store, HnswConfig{});
  REQUIRE(quantized.insert_batch(f.slots).ok());
  REQUIRE(quantized.uses_sq8());
  // The 8-bit copy costs at least a byte per dimension per row.
  CHECK(quantized.memory_bytes() >= plain.memory_bytes() + 3000 * 32);
}

TEST_CASE("hnsw: the walk choice is stored with the database and wins on reopen") {
  testing::TempDir dir;
  const std::string path = (dir / "walk.iqdb").string();
  const auto rows = clustered(1200, 16, Metric::kL2, 7);
  {
    auto db = Database::open(
        path, Config(16, Metric::kL2).index(HnswConfig{}.with_quantized_walk(false)));
    REQUIRE(db.ok());
    for (size_t i = 0; i < 1200; ++i) {
      REQUIRE(db->upsert(VectorId(i), std::span<const float>(rows.data() + i * 16, 16)).ok());
    }
    REQUIRE(db->close().ok());
  }
  auto db = Database::open(path, Config(16, Metric::kL2).index(HnswConfig{}));
  REQUIRE(db.ok());
  REQUIRE(db->index_kind().is_hnsw());
  CHECK_FALSE(db->index_kind().hnsw().quantized_walk);
  auto hits = db->search(std::span<const float>(rows.data() + 16 * 5, 16), 3);
  REQUIRE(hits.ok());
  REQUIRE(!hits->empty());
  CHECK(hits->front().id.as_u64() == 5);
}

TEST_CASE("hnsw: sequential builds with the same seed are identical") {
  Fixture f(16, Metric::kL2);
  f.add_rows(clustered(1500, 16, Metric::kL2, 3));
  auto build = [&] {
    auto index = std::make_unique<HnswIndex>(f.store, HnswConfig{}.with_m(8), options_for_test());
    for (uint32_t s : f.slots) REQUIRE(index->insert(s).ok());
    return index;
  };
  auto a = build(), b = build();
  CHECK(a->entry_point() == b->entry_point());
  for (uint32_t s : f.slots) {
    REQUIRE(a->level(s) == b->level(s));
    for (uint32_t l = 0; l <= a->level(s); ++l) REQUIRE(a->neighbors(s, l) == b->neighbors(s, l));
  }
}

TEST_CASE("hnsw: stores that keep codes are walked on their codes, with the same recall") {
  struct Case {
    const char* name;
    VectorStorage storage;
    Metric metric;
  };
  const Case cases[] = {
      {"u8 / l2", VectorStorage::u8(), Metric::kL2},
      {"u8 / cosine", VectorStorage::u8(), Metric::kCosine},
      {"sq8 / l2", VectorStorage::sq8(), Metric::kL2},
      {"sq8 + f32 / dot", VectorStorage::sq8(true), Metric::kDot},
      {"f16 / l1", VectorStorage::f16(), Metric::kL1},
      {"bf16 + f32 / l2", VectorStorage::bf16(true), Metric::kL2},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    const size_t dim = 32;
    VectorStore store(dim, c.metric, c.storage);
    auto rows = clustered(3000, dim, c.metric, 13);
    auto queries = clustered(100, dim, c.metric, 14);
    if (c.storage.type == StorageType::kU8) {  // whole numbers 0..255
      for (auto* v : {&rows, &queries}) {
        for (float& x : *v) x = std::clamp(std::round(x * 12.0f + 128.0f), 0.0f, 255.0f);
      }
    }
    std::vector<uint32_t> slots;
    for (size_t i = 0; i < 3000; ++i) {
      auto r = store.upsert(VectorId(uint64_t{i}), {rows.data() + i * dim, dim}, nullptr);
      REQUIRE(r.ok());
      slots.push_back(r->slot);
    }
    HnswIndex index(store, HnswConfig{});
    REQUIRE(index.insert_batch(slots).ok());
    REQUIRE(index.check().ok());
    // No copy of its own: the store's codes serve (u8 rows directly).
    CHECK(index.uses_sq8() == (c.storage.type == StorageType::kU8 && c.metric == Metric::kL2));
    CHECK(index.memory_bytes() < 3000 * 160);
    const double r = recall(store, index, queries, 10, 0);
    MESSAGE(std::string(c.name), ": recall@10 ", r, ", index bytes/row ",
            index.memory_bytes() / 3000);
    CHECK(r >= 0.95);
    // Deletes and reinserts work on codes as well.
    for (uint32_t s = 0; s < 3000; s += 3) {
      store.remove(store.id(s));
      index.remove(s);
    }
    REQUIRE(index.check().ok());
    CHECK(recall(store, index, queries, 10, 0) >= 0.95);
  }
}

// ---- Filters.

TEST_CASE("hnsw: filtered search returns exactly k matching hits at 50/10/1/0.1 % selectivity") {
  Fixture f(32, Metric::kL2);
  f.add_rows(clustered(5000, 32, Metric::kL2, 21));
  HnswIndex index(f.store, HnswConfig{});
  REQUIRE(index.insert_batch(f.slots).ok());
  HnswIndex::Options walk_only;
  walk_only.plan_filters = false;
  HnswIndex walker(f.store, HnswConfig{}, walk_only);
  REQUIRE(walker.insert_batch(f.slots).ok());
  const auto queries = clustered(50, 32, Metric::kL2, 22);
  std::mt19937 rng(23);
  for (double fraction : {0.5, 0.1, 0.01, 0.001}) {
    CAPTURE(fraction);
    std::vector<uint8_t> mask(f.store.slot_end(), 0);
    std::uniform_real_distribution<double> u(0, 1);
    for (auto& m : mask) m = u(rng) < fraction;
    MaskPredicate filter(mask);
    const double planned = recall(f.store, index, queries, 10, 0, &filter, true);
    const double walked = recall(f.store, walker, queries, 10, 0, &filter, true);
    MESSAGE("selectivity ", fraction, ": planned recall ", planned, ", walk-only recall ", walked);
    CHECK(planned >= 0.95);
    CHECK(walked >= 0.95);
  }
}

TEST_CASE("hnsw: a filter that matches nothing or fewer than k rows") {
  Fixture f(8, Metric::kL2);
  f.add_rows(clustered(2000, 8, Metric::kL2, 31));
  HnswIndex::Options walk_only;
  walk_only.plan_filters = false;
  HnswIndex index(f.store, HnswConfig{}, walk_only);
  REQUIRE(index.insert_batch(f.slots).ok());
  const float q[8] = {};
  QueryScorer scorer(f.store, q);
  MaskPredicate none(std::vector<uint8_t>(f.store.slot_end(), 0));
  CHECK(index.search(scorer, 10, 0, &none).empty());
  std::vector<uint8_t> three(f.store.slot_end(), 0);
  three[5] = three[700] = three[1999] = 1;
  MaskPredicate few(three);
  auto got = index.search(scorer, 10, 0, &few);
  REQUIRE(got.size() == 3);
}

// ---- Deletes, reuse, updates.

TEST_CASE("hnsw: removing nodes repairs links, moves the entry point and keeps recall") {
  Fixture f(32, Metric::kL2);
  f.add_rows(clustered(4000, 32, Metric::kL2, 41));
  HnswIndex index(f.store, HnswConfig{});
  REQUIRE(index.insert_batch(f.slots).ok());
  // Remove the entry point first, then 40 % of the rest one at a time.
  std::vector<uint32_t> order = f.slots;
  std::mt19937 rng(42);
  std::shuffle(order.begin(), order.end(), rng);
  const uint32_t first_entry = index.entry_point();
  std::vector<uint32_t> victims = {first_entry};
  for (uint32_t s : order) {
    if (victims.size() >= 1600) break;
    if (s != first_entry) victims.push_back(s);
  }
  for (uint32_t s : victims) {
    REQUIRE(f.store.remove(f.store.id(s)) == s);
    index.remove(s);
  }
  CHECK(index.entry_point() != first_entry);
  CHECK(index.size() == 4000 - victims.size());
  REQUIRE(index.check().ok());  // no link to a freed slot, entry on the top level
  for (uint32_t s : victims) CHECK(!index.contains(s));
  const double r = recall(f.store, index, clustered(100, 32, Metric::kL2, 43), 10, 0);
  MESSAGE("recall after removing 40 %: ", r);
  CHECK(r >= 0.95);
  // Every remaining node is still reachable: search for each of a sample.
  size_t found_self = 0, tried = 0;
  for (uint32_t s = 0; s < f.store.slot_end(); s += 7) {
    if (!f.store.is_live(s)) continue;
    QueryScorer scorer(f.store, f.store.row(s));
    auto got = index.search(scorer, 1, 0, nullptr);
    ++tried;
    found_self += !got.empty() && got[0].distance == 0.0f;
  }
  // Every sampled node finds itself on every target tried (AVX3, AVX2,
  // SSE4: 342 of 342); the 1% margin allows for ties in a differently
  // rounded build, not for unreachable nodes.
  CHECK(found_self >= tried * 99 / 100);
}

TEST_CASE("hnsw: removing half the nodes, then every node") {
  Fixture f(8, Metric::kCosine);
  f.add_rows(clustered(600, 8, Metric::kCosine, 51));
  HnswIndex index(f.store, HnswConfig{}.with_m(6), options_for_test());
  REQUIRE(index.insert_batch(f.slots).ok());
  std::vector<uint32_t> half(f.slots.begin(), f.slots.begin() + 300);
  for (uint32_t s : half) {
    f.store.remove(f.store.id(s));
    index.remove(s);
  }
  REQUIRE(index.check().ok());
  CHECK(index.size() == 300);
  std::vector<uint32_t> rest(f.slots.begin() + 300, f.slots.end());
  for (uint32_t s : rest) {
    f.store.remove(f.store.id(s));
    index.remove(s);
  }
  CHECK(index.size() == 0);
  CHECK(index.entry_point() == kNoSlot);
  REQUIRE(index.check().ok());
  index.remove(3);  // absent: no-op
  // The emptied index takes new rows in the freed slots.
  f.slots.clear();
  f.add_rows(clustered(50, 8, Metric::kCosine, 52));
  for (uint32_t s : f.slots) {
    CHECK(s < 600);
    REQUIRE(index.insert(s).ok());
  }
  REQUIRE(index.check().ok());
}

TEST_CASE("hnsw: freed slots are reused by the store and inserting them works") {
  Fixture f(16, Metric::kL2);
  f.add_rows(clustered(2000, 16, Metric::kL2, 61));
  HnswIndex index(f.store, HnswConfig{});
  REQUIRE(index.insert_batch(f.slots).ok());
  for (uint32_t s = 0; s < 2000; s += 2) {
    f.store.remove(f.store.id(s));
    index.remove(s);
  }
  const auto fresh = clustered(1000, 16, Metric::kL2, 62, 7);
  for (size_t i = 0; i < 1000; ++i) {
    const uint32_t s = f.add(fresh.data() + i * 16);
    CHECK(s < 2000);  // reused
    REQUIRE(index.insert(s).ok());
  }
  REQUIRE(index.check().ok());
  CHECK(index.size() == 2000);
  for (size_t i = 0; i < 1000; i += 37) {
    QueryScorer scorer(f.store, fresh.data() + i * 16);
    auto got = index.search(scorer, 1, 0, nullptr);
    REQUIRE(!got.empty());
    CHECK(got[0].distance == 0.0f);
  }
  CHECK(recall(f.store, index, clustered(100, 16, Metric::kL2, 63), 10, 0) >= 0.95);
}

TEST_CASE("hnsw: update relinks a moved vector") {
  Fixture f(16, Metric::kL2);
  f.add_rows(clustered(1500, 16, Metric::kL2, 71));
  HnswIndex index(f.store, HnswConfig{}, options_for_test());
  REQUIRE(index.insert_batch(f.slots).ok());
  std::vector<float> far(16, 50.0f);
  for (uint32_t s : {f.slots[10], f.slots[500], index.entry_point()}) {
    far[0] += 1.0f;
    auto r = f.store.upsert(f.store.id(s), far, nullptr);
    REQUIRE(r.ok());
    REQUIRE(r->replaced);
    REQUIRE(index.update(s).ok());
    REQUIRE(index.check().ok());
    QueryScorer scorer(f.store, far.data());
    auto got = index.search(scorer, 1, 0, nullptr);
    REQUIRE(!got.empty());
    CHECK(got[0].slot == s);
  }
  CHECK(recall(f.store, index, clustered(50, 16, Metric::kL2, 72), 10, 0) >= 0.95);
}

TEST_CASE("hnsw: replacing half the rows with new vectors keeps recall and reachability") {
  for (bool sq8 : {true, false}) {
    CAPTURE(sq8);
    HnswIndex::Options o = options_for_test();
    o.sq8 = sq8;
    Fixture f(16, Metric::kL2);
    f.add_rows(clustered(2000, 16, Metric::kL2, 74));
    HnswIndex index(f.store, HnswConfig{}, o);
    REQUIRE(index.insert_batch(f.slots).ok());
    // Each replaced row moves to a new point, most to another cluster.
    const auto moved = clustered(1000, 16, Metric::kL2, 75);
    for (size_t i = 0; i < 1000; ++i) {
      const uint32_t s = f.slots[2 * i];
      auto r = f.store.upsert(f.store.id(s), std::span(moved.data() + i * 16, 16), nullptr);
      REQUIRE(r.ok());
      REQUIRE(r->replaced);
      REQUIRE(index.update(s).ok());
    }
    REQUIRE(index.check().ok());
    CHECK(index.size() == 2000);
    size_t at_new_place = 0;
    for (size_t i = 0; i < 1000; ++i) {
      QueryScorer scorer(f.store, moved.data() + i * 16);
      auto got = index.search(scorer, 1, 0, nullptr);
      at_new_place += !got.empty() && got[0].distance == 0.0f;
    }
    CHECK(at_new_place >= 990);
    // As good as a graph built on the final rows in one go, at an ef small
    // enough to show a worn graph (without the repairs around the old
    // places, 0.04 below it at ef 10).
    HnswIndex fresh(f.store, HnswConfig{}, o);
    REQUIRE(fresh.insert_batch(f.slots).ok());
    const auto queries = clustered(200, 16, Metric::kL2, 76);
    for (size_t ef : {10, 16}) {
      CAPTURE(ef);
      CHECK(recall(f.store, index, queries, 10, ef) >=
            recall(f.store, fresh, queries, 10, ef) - 0.02);
    }
    // What the local repairs left for the periodic pass, it finds.
    index.repair_reachability();
    CHECK(index.unreachable() == 0);
  }
}

// ---- Persistence.

using FakeSink = iqdb::testing::FakeSink;

using testing::FakeSource;

TEST_CASE("hnsw: save and load round trip gives the same answers and keeps working") {
  for (bool sq8 : {true, false}) {
    CAPTURE(sq8);
    Fixture f(16, Metric::kL2);
    f.add_rows(clustered(1200, 16, Metric::kL2, 81));
    HnswIndex::Options o = options_for_test();
    o.sq8 = sq8;
    HnswIndex index(f.store, HnswConfig{}, o);
    REQUIRE(index.insert_batch(f.slots).ok());
    for (uint32_t s = 0; s < 100; ++s) {
      f.store.remove(f.store.id(s));
      index.remove(s);
    }
    FakeSink sink;
    index.save(sink);
    FakeSource source(sink.sections);
    auto loaded = HnswIndex::load(f.store, HnswConfig{}, source, o);
    REQUIRE_MESSAGE(loaded.ok(), loaded.status().to_string());
    CHECK(loaded->check().ok());
    CHECK(loaded->size() == index.size());
    CHECK(loaded->uses_sq8() == index.uses_sq8());
    CHECK(loaded->memory_bytes() == index.memory_bytes());
    const auto queries = clustered(30, 16, Metric::kL2, 82);
    for (size_t q = 0; q < 30; ++q) {
      QueryScorer scorer(f.store, queries.data() + q * 16);
      auto a = index.search(scorer, 10, 0, nullptr);
      auto b = loaded->search(scorer, 10, 0, nullptr);
      REQUIRE(a.size() == b.size());
      for (size_t i = 0; i < a.size(); ++i) CHECK(a[i].slot == b[i].slot);
    }
    // The loaded graph grows and shrinks like a built one.
    std::vector<uint32_t> added;
    const auto more = clustered(300, 16, Metric::kL2, 83);
    for (size_t i = 0; i < 300; ++i) added.push_back(f.add(more.data() + i * 16));
    REQUIRE(loaded->insert_batch(added).ok());
    for (uint32_t s = 500; s < 600; ++s) {
      f.store.remove(f.store.id(s));
      loaded->remove(s);
    }
    REQUIRE(loaded->check().ok());
    CHECK(recall(f.store, *loaded, queries, 10, 0) >= 0.95);
  }
}

TEST_CASE("hnsw: load rejects a different m, dim or metric") {
  Fixture f(8, Metric::kL2);
  f.add_rows(clustered(100, 8, Metric::kL2, 91));
  HnswIndex index(f.store, HnswConfig{});
  REQUIRE(index.insert_batch(f.slots).ok());
  FakeSink sink;
  index.save(sink);
  FakeSource source(sink.sections);
  CHECK(HnswIndex::load(f.store, HnswConfig{}.with_m(12), source).status().code() ==
        StatusCode::kConfigMismatch);
  VectorStore other(8, Metric::kL1);
  CHECK(HnswIndex::load(other, HnswConfig{}, source).status().code() ==
        StatusCode::kConfigMismatch);
  FakeSource missing(sink.sections);
  missing.sections.erase(section::kHnswFirst + 1);
  CHECK(HnswIndex::load(f.store, HnswConfig{}, missing).status().code() == StatusCode::kCorruption);
}

// Loads a damaged copy: it must fail with a status or give an index whose
// invariants hold and that answers queries.
void load_damaged(const VectorStore& store, const HnswIndex::Options& o,
                  std::map<uint32_t, std::vector<uint8_t>> sections, size_t* rejected) {
  FakeSource source(std::move(sections));
  auto loaded = HnswIndex::load(store, HnswConfig{}.with_m(4), source, o);
  if (!loaded.ok()) {
    const StatusCode code = loaded.status().code();
    REQUIRE((code == StatusCode::kCorruption || code == StatusCode::kConfigMismatch));
    ++*rejected;
    return;
  }
  REQUIRE(loaded->check().ok());
  const float q[4] = {0.5f, -1.0f, 2.0f, 0.0f};
  QueryScorer scorer(store, q);
  auto got = loaded->search(scorer, 5, 0, nullptr);
  CHECK(got.size() == 5);
}

TEST_CASE("hnsw: every flipped byte and every truncation of a saved graph is caught or harmless") {
  Fixture f(4, Metric::kL2);
  f.add_rows(clustered(40, 4, Metric::kL2, 101, 5));
  HnswIndex::Options o;
  o.sq8_min_rows = 8;  // so the codes section exists
  HnswIndex index(f.store, HnswConfig{}.with_m(4), o);
  REQUIRE(index.insert_batch(f.slots).ok());
  f.store.remove(f.store.id(7));
  index.remove(7);  // an absent record in the middle
  REQUIRE(index.uses_sq8());
  FakeSink sink;
  index.save(sink);
  REQUIRE(sink.sections.size() == 6);
  size_t rejected = 0, trials = 0;
  for (const auto& [kind, bytes] : sink.sections) {
    CAPTURE(kind);
    for (size_t i = 0; i < bytes.size(); ++i) {
      CAPTURE(i);
      for (uint8_t flip : {uint8_t{0x01}, uint8_t{0x80}, uint8_t{0xFF}}) {
        auto damaged = sink.sections;
        damaged[kind][i] ^= flip;
        load_damaged(f.store, o, damaged, &rejected);
        ++trials;
      }
    }
    for (size_t len = 0; len < bytes.size(); ++len) {
      auto damaged = sink.sections;
      damaged[kind].resize(len);
      const size_t before = rejected;
      load_damaged(f.store, o, damaged, &rejected);
      CHECK(rejected == before + 1);  // a short section is always caught
      ++trials;
    }
  }
  MESSAGE(trials, " damaged loads, ", rejected, " rejected");
  CHECK(rejected > trials / 4);
}

// ---- Concurrency.

TEST_CASE("hnsw: concurrent inserts and searches") {
  const size_t dim = 16, n = 4000;
  Fixture f(dim, Metric::kL2);
  f.add_rows(clustered(n, dim, Metric::kL2, 111));
  HnswIndex index(f.store, HnswConfig{}.with_m(8).with_ef_construction(64), options_for_test());
  // A first part single-threaded (trains the codes), the rest concurrently.
  for (size_t i = 0; i < 500; ++i) REQUIRE(index.insert(f.slots[i]).ok());
  std::atomic<size_t> next{500};
  std::atomic<bool> done{false};
  std::atomic<size_t> searches{0};
  const auto queries = clustered(64, dim, Metric::kL2, 112);
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&] {
      for (size_t i; (i = next.fetch_add(1)) < n;) REQUIRE(index.insert(f.slots[i]).ok());
    });
  }
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      // Half of the searches filtered (a walk that tests the predicate).
      std::vector<uint8_t> even(n);
      for (size_t i = 0; i < n; ++i) even[i] = i % 2 == 0;
      MaskPredicate filter(even);
      for (size_t q = t; !done.load(); q = (q + 1) % 64) {
        QueryScorer scorer(f.store, queries.data() + q * dim);
        auto got = index.search(scorer, 10, 32, q % 2 ? &filter : nullptr);
        for (const auto& c : got) REQUIRE(c.slot < n);
        searches.fetch_add(1);
      }
    });
  }
  for (int t = 0; t < 3; ++t) threads[t].join();
  done.store(true);
  for (size_t t = 3; t < threads.size(); ++t) threads[t].join();
  MESSAGE(searches.load(), " searches ran during the inserts");
  CHECK(index.size() == n);
  REQUIRE(index.check().ok());
  CHECK(recall(f.store, index, queries, 10, 0) >= 0.95);
}

}  // namespace
}  // namespace iqdb::index
