// A new id upserted into an index that prepares its filing (IVF once
// trained): the row and the filing are made alongside searches, and one
// exclusive step publishes the record, files it and tells the result cache.
// What lands is what the plain path files: every live row in its list, each
// searchable, the cache emptied of results the write could change.
#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "db/contents.h"
#include "db/result_cache.h"
#include "index/ivf.h"
#include "index/scorer.h"
#include "unit/index/counting_publisher.h"

namespace iqdb::db {
namespace {

constexpr size_t kDim = 8;

// Distinct rows around four centres, so the lists train apart.
std::vector<float> vec(uint64_t id) {
  std::vector<float> v(kDim);
  const float centre = float(id % 4) * 10.0f;
  for (size_t d = 0; d < kDim; ++d) v[d] = centre + float(id) * 0.001f + float(d) * 0.01f;
  return v;
}

using index::testing::CountingPublisher;

const index::IvfIndex& ivf_of(const Contents& c) {
  const auto* ivf = dynamic_cast<const index::IvfIndex*>(c.ann());
  REQUIRE(ivf != nullptr);
  return *ivf;
}

// The record of `id` is live, filed, and its own nearest neighbour.
void check_searchable(const Contents& c, uint64_t id) {
  CAPTURE(id);
  const index::VectorStore& store = c.store();
  const uint32_t slot = store.find(VectorId(id));
  REQUIRE(slot != index::kNoSlot);
  CHECK(std::vector<float>(store.row(slot), store.row(slot) + kDim) == vec(id));
  CHECK(ivf_of(c).list_of(slot) != index::ivf::kNoList);
  const std::vector<float> q = vec(id);
  index::QueryScorer scorer(store, q.data());
  const auto hits = c.ann()->search(scorer, 1, index::AnnKnobs{}, nullptr);
  REQUIRE(hits.size() == 1);
  CHECK(hits[0].slot == slot);
}

}  // namespace

TEST_CASE("contents: a new id on a trained IVF is published, filed and cached in one step") {
  auto made = Contents::create(Config(kDim, Metric::kL2).index(IvfConfig{}.with_n_clusters(4)));
  REQUIRE(made.ok());
  Contents& c = **made;
  CountingPublisher publisher;
  ResultCache cache(CacheConfig{}.with_capacity(16), false);
  uint64_t next = 0;
  size_t retrains = 0;
  for (; !ivf_of(c).trained(); ++next) {
    REQUIRE(next < 20000);
    REQUIRE(c.upsert(VectorId(next), vec(next), nullptr, &cache, publisher).ok());
  }
  for (uint64_t n = 0; n < 600; ++n, ++next) {
    // A cached result the write could change must be gone after it.
    const std::vector<float> q = vec(next);
    SearchParams params;
    params.k = 1;
    const std::string key = ResultCache::key(q, params);
    cache.insert(key, q, params, {}, 0.0f);
    REQUIRE(cache.lookup(key).has_value());
    const Metadata m{{"id", Value(int64_t(next))}};
    const auto before = ivf_of(c).centroid(0);
    const std::vector<float> model_before(before.begin(), before.end());
    publisher.steps = 0;
    REQUIRE(c.upsert(VectorId(next), q, n % 2 == 0 ? &m : nullptr, &cache, publisher).ok());
    // A retrain the rows call for swaps its model in with a step of its own.
    const auto after = ivf_of(c).centroid(0);
    const bool retrained =
        !std::equal(after.begin(), after.end(), model_before.begin(), model_before.end());
    retrains += retrained ? 1 : 0;
    CHECK(publisher.steps == (retrained ? 2u : 1u));
    CHECK(!cache.lookup(key).has_value());
    if (n % 50 == 0) check_searchable(c, next);
  }
  CHECK(retrains < 10);  // geometric: a handful over 600 rows
  CHECK(c.store().size() == next);
  CHECK(ivf_of(c).check().ok());
  for (uint64_t id = 0; id < next; id += 37) check_searchable(c, id);
  const uint32_t slot = c.store().find(VectorId(next - 2));
  REQUIRE(c.store().metadata(slot) != nullptr);
  CHECK(*c.store().metadata(slot) == Metadata{{"id", Value(int64_t(next - 2))}});

  // Replacing an id and reusing a freed slot take the general path, and
  // still leave every row filed once.
  REQUIRE(c.upsert(VectorId(5), vec(next), nullptr, &cache, publisher).ok());
  const uint32_t freed = c.store().find(VectorId(7));
  CHECK(c.remove(VectorId(7), &cache, publisher));
  REQUIRE(c.upsert(VectorId(next), vec(next + 1), nullptr, &cache, publisher).ok());
  CHECK(c.store().find(VectorId(next)) == freed);
  CHECK(c.store().size() == next);
  CHECK(ivf_of(c).check().ok());
}

TEST_CASE("contents: the one-step insert files what the two-step one files") {
  const Config config = Config(kDim, Metric::kL2).index(IvfConfig{}.with_n_clusters(4));
  auto a = Contents::create(config), b = Contents::create(config);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CountingPublisher publisher;
  index::ExcludedAlready excluded;
  uint64_t id = 0;
  // Trained alike by the same rows.
  for (; !ivf_of(**a).trained(); ++id) {
    REQUIRE((*a)->upsert(VectorId(id), vec(id), nullptr, nullptr, publisher).ok());
    const VectorId one[] = {VectorId(id)};
    REQUIRE((*b)->upsert_batch(one, vec(id), {}, nullptr, excluded).ok());
  }
  REQUIRE(ivf_of(**b).trained());
  for (const uint64_t end = id + 300; id < end; ++id) {
    REQUIRE((*a)->upsert(VectorId(id), vec(id), nullptr, nullptr, publisher).ok());
    const VectorId one[] = {VectorId(id)};
    REQUIRE((*b)->upsert_batch(one, vec(id), {}, nullptr, excluded).ok());
  }
  const index::IvfIndex &ia = ivf_of(**a), &ib = ivf_of(**b);
  REQUIRE(ia.n_lists() == ib.n_lists());
  for (uint32_t s = 0; s < (*a)->store().slot_end(); ++s) {
    CAPTURE(s);
    CHECK((*a)->store().id(s) == (*b)->store().id(s));
    CHECK(ia.list_of(s) == ib.list_of(s));
  }
}

}  // namespace iqdb::db
