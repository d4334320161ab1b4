// The result cache: never stale, invalidates only what a write can change,
// evicts by policy, expires by TTL, and counts what it does.
#include <doctest/doctest.h>

#include <random>
#include <thread>

#include "iqdb/iqdb.hpp"

using namespace iqdb;

namespace {

std::vector<float> random_vec(std::mt19937_64& rng, size_t dim) {
  std::vector<float> v(dim);
  for (float& x : v) x = float(int(rng() % 9) - 4);
  return v;
}

void check_same(const std::vector<Hit>& a, const std::vector<Hit>& b) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].id == b[i].id);
    CHECK(a[i].distance == b[i].distance);
    CHECK(a[i].metadata == b[i].metadata);
  }
}

void equivalence(const IndexKind& kind, Metric metric, uint64_t seed) {
  constexpr size_t kDim = 6;
  auto cached = Database::open_in_memory(
      Config(kDim, metric).index(kind).cache(CacheConfig{}.with_capacity(64)));
  auto plain = Database::open_in_memory(Config(kDim, metric).index(kind));
  REQUIRE(cached.ok());
  REQUIRE(plain.ok());
  std::mt19937_64 rng(seed);
  // A fixed pool of queries so that lookups repeat and hit the cache.
  std::vector<std::vector<float>> queries;
  for (int i = 0; i < 12; ++i) queries.push_back(random_vec(rng, kDim));
  std::vector<Filter> filters = {Filter::eq("b", 1), Filter::in("b", {0, 2})};
  for (int step = 0; step < 1200; ++step) {
    int op = int(rng() % 10);
    uint64_t id = rng() % 80;
    if (op < 3) {
      auto v = random_vec(rng, kDim);
      Metadata m{{"b", int64_t(rng() % 3)}};
      REQUIRE(cached->upsert(id, v, &m).ok());
      REQUIRE(plain->upsert(id, v, &m).ok());
    } else if (op == 3) {
      REQUIRE(*cached->remove(id) == *plain->remove(id));
    } else if (op == 4) {
      std::vector<VectorId> ids{id, id + 100, id + 200};
      std::vector<float> rows;
      for (int r = 0; r < 3; ++r) {
        auto v = random_vec(rng, kDim);
        rows.insert(rows.end(), v.begin(), v.end());
      }
      REQUIRE(cached->upsert_batch(ids, rows).ok());
      REQUIRE(plain->upsert_batch(ids, rows).ok());
    } else {
      SearchParams p;
      p.k = 1 + rng() % 8;
      p.with_metadata = rng() % 2 == 0;
      if (op == 9) p.filter = &filters[rng() % filters.size()];
      const auto& q = queries[rng() % queries.size()];
      auto a = cached->search(q, p);
      auto b = plain->search(q, p);
      REQUIRE(a.ok());
      REQUIRE(b.ok());
      check_same(*a, *b);
    }
  }
  auto stats = cached->cache_stats();
  REQUIRE(stats.has_value());
  CHECK(stats->hits > 0);
  MESSAGE(std::string(kind.name()) << " " << metric_name(metric) << ": " << stats->hits << " hits, "
                                   << stats->misses << " misses, hit rate " << stats->hit_rate());
}

}  // namespace

TEST_CASE("a cached result always equals an uncached search after any sequence of writes") {
  for (Metric m : {Metric::kL2, Metric::kCosine, Metric::kDot, Metric::kL1, Metric::kHamming}) {
    equivalence(FlatConfig{}, m, 11 + int(m));
  }
  equivalence(HnswConfig{}.with_m(6).with_ef_construction(20), Metric::kL2, 99);
}

TEST_CASE("on the flat index a write far from a cached query keeps it cached") {
  auto db = Database::open_in_memory(Config(2, Metric::kL2).cache(CacheConfig{}.with_capacity(8)));
  REQUIRE(db.ok());
  for (uint64_t i = 0; i < 10; ++i) REQUIRE(db->upsert(i, std::vector<float>{float(i), 0}).ok());
  std::vector<float> q{0, 0};
  REQUIRE(db->search(q, 3).ok());
  REQUIRE(db->upsert(100, std::vector<float>{50, 50}).ok());  // farther than the 3rd hit
  REQUIRE(db->remove(9).ok());                                // not in the result
  REQUIRE(db->search(q, 3).ok());
  CHECK(db->cache_stats()->hits == 1);
  REQUIRE(db->upsert(101, std::vector<float>{0.5f, 0}).ok());  // nearer than the 3rd hit
  auto hits = db->search(q, 3);
  CHECK(db->cache_stats()->hits == 1);  // recomputed
  CHECK((*hits)[1].id == VectorId(101));
  REQUIRE(db->remove(0).ok());  // in the result
  hits = db->search(q, 3);
  CHECK(db->cache_stats()->hits == 1);
  CHECK((*hits)[0].id == VectorId(101));
}

TEST_CASE("cache policies evict the right entry and count evictions") {
  using P = CacheConfig::Policy;
  auto run = [](P policy) {
    auto db = Database::open_in_memory(
        Config(1, Metric::kL2).cache(CacheConfig{}.with_capacity(2).with_policy(policy)));
    REQUIRE(db->upsert(1, std::vector<float>{0}).ok());
    std::vector<float> a{1}, b{2}, c{3};
    (void)db->search(a, 1);  // miss, cache {a}
    (void)db->search(b, 1);  // miss, cache {a, b}
    (void)db->search(a, 1);  // hit a (a used twice now)
    (void)db->search(c, 1);  // miss, evicts one
    auto before = db->cache_stats()->hits;
    (void)db->search(a, 1);
    bool a_kept = db->cache_stats()->hits > before;
    CHECK(db->cache_stats()->evictions >= 1);
    CHECK(db->cache_stats()->length <= 2);
    return a_kept;
  };
  CHECK(run(P::kLru));         // b was least recently used
  CHECK(run(P::kLfu));         // b was least frequently used
  CHECK_FALSE(run(P::kFifo));  // a was inserted first
}

TEST_CASE("cache entries expire after the TTL") {
  auto db = Database::open_in_memory(
      Config(1, Metric::kL2)
          .cache(CacheConfig{}.with_capacity(4).with_ttl(std::chrono::milliseconds(30))));
  REQUIRE(db->upsert(1, std::vector<float>{0}).ok());
  std::vector<float> q{1};
  (void)db->search(q, 1);
  (void)db->search(q, 1);
  CHECK(db->cache_stats()->hits == 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  (void)db->search(q, 1);
  CHECK(db->cache_stats()->hits == 1);
  CHECK(db->cache_stats()->misses == 2);
}

TEST_CASE("cache_stats is empty without a cache") {
  auto db = Database::open_in_memory(1, Metric::kL2);
  CHECK_FALSE(db->cache_stats().has_value());
}

TEST_CASE("on an approximate index every write empties the cache, which then fills again") {
  auto db = Database::open_in_memory(
      Config(2, Metric::kL2).index(HnswConfig{}.with_m(4)).cache(CacheConfig{}.with_capacity(8)));
  REQUIRE(db.ok());
  for (uint64_t i = 0; i < 10; ++i) REQUIRE(db->upsert(i, std::vector<float>{float(i), 0}).ok());
  std::vector<float> q{0, 0}, r{5, 0};
  for (int round = 0; round < 3; ++round) {
    CAPTURE(round);
    REQUIRE(db->search(q, 3).ok());
    REQUIRE(db->search(r, 3).ok());
    CHECK(db->cache_stats()->length == 2);
    const uint64_t hits = db->cache_stats()->hits;
    REQUIRE(db->search(q, 3).ok());
    CHECK(db->cache_stats()->hits == hits + 1);
    if (round == 1) {
      REQUIRE(db->remove(9).value());
    } else {
      REQUIRE(db->upsert(100 + uint64_t(round), std::vector<float>{0.5f, 0}).ok());
    }
    CHECK(db->cache_stats()->length == 0);
  }
  auto hits = db->search(q, 3);
  REQUIRE(hits.ok());
  CHECK((*hits)[0].id == VectorId(0));
  CHECK(db->cache_stats()->length == 1);
}
