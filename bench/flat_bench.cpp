// Exact flat search micro-benchmarks: one query against 10k and 60k rows of
// Fashion-MNIST-shaped data (784 dims), per metric.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "iqdb/iqdb.hpp"

namespace {

iqdb::Database& database(size_t rows, iqdb::Metric metric) {
  static std::vector<std::pair<std::pair<size_t, int>, iqdb::Database>> cache;
  for (auto& [key, db] : cache) {
    if (key.first == rows && key.second == int(metric)) return db;
  }
  auto db = iqdb::Database::open_in_memory(784, metric);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(0, 255);
  std::vector<float> data(rows * 784);
  for (float& x : data) x = u(rng);
  std::vector<iqdb::VectorId> ids;
  for (size_t i = 0; i < rows; ++i) ids.emplace_back(i);
  (void)db->upsert_batch(ids, data);
  cache.emplace_back(std::make_pair(rows, int(metric)), std::move(*db));
  return cache.back().second;
}

void BM_FlatSearch(benchmark::State& state) {
  const size_t rows = size_t(state.range(0));
  const auto metric = static_cast<iqdb::Metric>(state.range(1));
  iqdb::Database& db = database(rows, metric);
  std::vector<float> q(784, 17.0f);
  for (auto _ : state) {
    auto hits = db.search(q, 10);
    benchmark::DoNotOptimize(hits);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(rows * 784 * sizeof(float)));
  state.SetLabel(std::string(iqdb::metric_name(metric)) + " on " + iqdb::simd_target());
}

}  // namespace

BENCHMARK(BM_FlatSearch)
    ->ArgsProduct({{10'000, 60'000},
                   {int(iqdb::Metric::kL2), int(iqdb::Metric::kCosine), int(iqdb::Metric::kDot)}})
    ->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
