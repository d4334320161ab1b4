// IVF writes applied alongside searches (insert_batch and update with a
// Publisher): the rows are encoded and overflowing lists copied bigger
// outside the exclusive steps, and what lands in the lists is exactly what
// the plain insert and update file. Each step is bounded: one per 256 rows.
#include <doctest/doctest.h>

#include <random>
#include <vector>

#include "index/ivf.h"
#include "index/scorer.h"
#include "unit/index/counting_publisher.h"
#include "index/vector_store.h"

namespace iqdb::index {
namespace {

using Pq = IvfConfig::Pq;
constexpr size_t kDim = 8;

using testing::CountingPublisher;

std::vector<float> rows(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> out(n * kDim);
  for (size_t i = 0; i < n; ++i) {
    const float centre = float(i % 6) * 4.0f;
    for (size_t d = 0; d < kDim; ++d) out[i * kDim + d] = centre + normal(rng);
  }
  return out;
}

std::vector<uint32_t> add(VectorStore& store, const std::vector<float>& v, uint64_t first_id) {
  std::vector<uint32_t> slots;
  for (size_t i = 0; i < v.size() / kDim; ++i) {
    auto r = store.upsert(VectorId(first_id + i), {v.data() + i * kDim, kDim}, nullptr);
    REQUIRE(r.ok());
    slots.push_back(r->slot);
  }
  return slots;
}

void check_same(const VectorStore& store, const IvfIndex& plain, const IvfIndex& alongside) {
  CHECK(plain.check().ok());
  CHECK(alongside.check().ok());
  REQUIRE(plain.n_lists() == alongside.n_lists());
  for (uint32_t l = 0; l < plain.n_lists(); ++l)
    CHECK(plain.list_size(l) == alongside.list_size(l));
  for (uint32_t s = 0; s < store.slot_end(); ++s) {
    CAPTURE(s);
    CHECK(plain.list_of(s) == alongside.list_of(s));
    CHECK(plain.codes(s) == alongside.codes(s));
  }
}

}  // namespace

TEST_CASE("ivf: rows filed alongside searches land where a plain insert and update put them") {
  for (Pq pq : {Pq::kNone, Pq::k8Bit, Pq::k4BitFastScan}) {
    CAPTURE(int(pq));
    IvfIndex::Options options;
    options.kmeans_iterations = 6;
    options.pq_iterations = 6;
    options.auto_retrain = false;  // the filing path, not a retraining, is compared
    options.min_train_rows = 500;  // PQ8 too trains on the first batch
    const IvfConfig config = IvfConfig{}.with_n_clusters(6).with_pq(pq);
    VectorStore store_a(kDim, Metric::kL2), store_b(kDim, Metric::kL2);
    IvfIndex plain(store_a, config, options), alongside(store_b, config, options);
    const auto first = rows(600, 1);
    REQUIRE(plain.insert_batch(add(store_a, first, 0)).ok());
    REQUIRE(alongside.insert_batch(add(store_b, first, 0)).ok());
    REQUIRE(plain.trained());
    REQUIRE(alongside.trained());

    // Enough rows that every list outgrows its buffer and the slot map grows.
    const auto more = rows(700, 2);
    REQUIRE(plain.insert_batch(add(store_a, more, 1000)).ok());
    CountingPublisher publisher;
    REQUIRE(alongside.insert_batch(add(store_b, more, 1000), publisher).ok());
    CHECK(publisher.steps == 3);  // 256 + 256 + 188 rows
    check_same(store_a, plain, alongside);

    // One at a time, as a database applies single upserts: one step each.
    const auto single = rows(40, 3);
    const auto slots_a = add(store_a, single, 5000), slots_b = add(store_b, single, 5000);
    for (size_t i = 0; i < slots_a.size(); ++i) {
      REQUIRE(plain.insert(slots_a[i]).ok());
      publisher.steps = 0;
      REQUIRE(alongside.insert_batch({&slots_b[i], 1}, publisher).ok());
      CHECK(publisher.steps == 1);
    }
    check_same(store_a, plain, alongside);

    // Row 3 moves onto row 700's vector: refiled in one step.
    const std::vector<float> target(store_a.row(700), store_a.row(700) + kDim);
    for (VectorStore* store : {&store_a, &store_b}) {
      auto r = store->upsert(store->id(3), target, nullptr);
      REQUIRE(r.ok());
      REQUIRE(r->replaced);
    }
    REQUIRE(plain.update(3).ok());
    publisher.steps = 0;
    REQUIRE(alongside.update(3, publisher).ok());
    CHECK(publisher.steps == 1);
    CHECK(alongside.list_of(3) == alongside.list_of(700));
    check_same(store_a, plain, alongside);

    QueryScorer scorer(store_b, target.data());
    auto hits = alongside.search(scorer, 2, AnnKnobs{}, nullptr);
    REQUIRE(hits.size() == 2);
    CHECK(
        ((hits[0].slot == 3 && hits[1].slot == 700) || (hits[0].slot == 700 && hits[1].slot == 3)));
  }
}

}  // namespace iqdb::index
