// IVF on real data: Fashion-MNIST (60,000 x 784 base, the first test
// images as queries, L2), from Debian's dataset-fashion-mnist package.
// Seeded: every run trains the same lists and codebooks.
//
// Pins the recall claims: recall@10 >= 0.95 at the documented
// default probe count (IvfConfig::n_probes = 8, refine_factor 4, about
// sqrt(n) = 245 lists) for IVF-Flat and both PQ variants, and the exact
// answer when every list is probed.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <unordered_set>

#include "dataset/idx.h"
#include "index/flat.h"
#include "index/ivf.h"
#include "index/scorer.h"
#include "index/vector_store.h"

namespace iqdb::index {
namespace {

constexpr size_t kQueries = 300;
constexpr size_t kK = 10;

struct FashionMnist {
  FashionMnist() {
    auto data = dataset::load_fashion_mnist();
    REQUIRE_MESSAGE(data.ok(), data.status().to_string());
    dim = data->dim;
    queries.assign(data->test.begin(), data->test.begin() + std::ptrdiff_t(kQueries * dim));
    store = std::make_unique<VectorStore>(dim, Metric::kL2);
    for (size_t i = 0; i < data->train_rows(); ++i) {
      auto r = store->upsert(VectorId(i), {data->train.data() + i * dim, dim}, nullptr);
      REQUIRE(r.ok());
      slots.push_back(r->slot);
    }
    for (size_t q = 0; q < kQueries; ++q) {
      QueryScorer scorer(*store, queries.data() + q * dim);
      truth.push_back(flat_search(scorer, kK, nullptr));
    }
  }
  size_t dim = 0;
  std::vector<float> queries;
  std::unique_ptr<VectorStore> store;
  std::vector<uint32_t> slots;
  std::vector<std::vector<util::Candidate>> truth;
};

const FashionMnist& data() {
  static const FashionMnist kData;
  return kData;
}

double recall_at_10(const IvfIndex& index, const IvfIndex::SearchOptions& options) {
  const FashionMnist& d = data();
  size_t agree = 0;
  for (size_t q = 0; q < kQueries; ++q) {
    QueryScorer scorer(*d.store, d.queries.data() + q * d.dim);
    auto got = index.search(scorer, kK, options, nullptr);
    std::unordered_set<uint32_t> want;
    for (const auto& c : d.truth[q]) want.insert(c.slot);
    for (const auto& c : got) agree += want.count(c.slot);
  }
  return double(agree) / double(kQueries * kK);
}

std::unique_ptr<IvfIndex> build(const IvfConfig& config) {
  const FashionMnist& d = data();
  auto index = std::make_unique<IvfIndex>(*d.store, config);
  const auto t = std::chrono::steady_clock::now();
  REQUIRE(index->insert_batch(d.slots).ok());
  REQUIRE(index->trained());
  MESSAGE("trained and added ", index->n_lists(), " lists in ",
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count(), " s");
  CHECK(index->check().ok());
  return index;
}

TEST_CASE(
    "ivf on Fashion-MNIST: IVF-Flat recall@10 >= 0.95 at the default probes; all lists is exact") {
  auto index = build(IvfConfig{});
  CHECK(index->n_lists() == 245);  // round(sqrt(60000))
  const double r = recall_at_10(*index, {});
  MESSAGE("IVF-Flat recall@10 at n_probes 8: ", r);
  CHECK(r >= 0.95);
  // Every list probed: exact, distances and all (integer pixels keep the
  // squared distances exact in f32).
  const FashionMnist& d = data();
  for (size_t q = 0; q < 50; ++q) {
    QueryScorer scorer(*d.store, d.queries.data() + q * d.dim);
    auto got = index->search(scorer, kK, IvfIndex::SearchOptions{index->n_lists(), 0}, nullptr);
    REQUIRE(got.size() == kK);
    for (size_t i = 0; i < kK; ++i) {
      CHECK(got[i].slot == d.truth[q][i].slot);
      CHECK(got[i].distance == d.truth[q][i].distance);
    }
  }
}

TEST_CASE(
    "ivf on Fashion-MNIST: IVF-PQ 4-bit fast scan + refine, recall@10 >= 0.95 at the defaults") {
  auto index = build(IvfConfig{}.with_pq(IvfConfig::Pq::k4BitFastScan));
  const double r = recall_at_10(*index, {});
  MESSAGE("IVF-PQ392x4fs recall@10 at n_probes 8, refine 4: ", r);
  CHECK(r >= 0.95);
  CHECK(recall_at_10(*index, {index->n_lists(), 60'000 / kK}) == 1.0);
}

TEST_CASE("ivf on Fashion-MNIST: IVF-PQ 8-bit + refine, recall@10 >= 0.95 at the defaults") {
  auto index = build(IvfConfig{}.with_pq(IvfConfig::Pq::k8Bit));
  const double r = recall_at_10(*index, {});
  MESSAGE("IVF-PQ196x8 recall@10 at n_probes 8, refine 4: ", r);
  CHECK(r >= 0.95);
}

}  // namespace
}  // namespace iqdb::index
