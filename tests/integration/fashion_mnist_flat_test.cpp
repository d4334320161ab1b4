// The flat index on real data: Fashion-MNIST from Debian's package, checked
// against a straightforward double-precision brute force.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "dataset/idx.h"
#include "iqdb/iqdb.hpp"

using namespace iqdb;

TEST_CASE("flat search on Fashion-MNIST equals a brute-force reference") {
  auto data = dataset::load_fashion_mnist();
  REQUIRE_MESSAGE(data.ok(), data.status().to_string());
  const size_t dim = data->dim;
  const size_t n = data->train_rows();
  auto db = Database::open_in_memory(dim, Metric::kL2);
  REQUIRE(db.ok());
  std::vector<VectorId> ids;
  for (size_t i = 0; i < n; ++i) ids.emplace_back(i);
  REQUIRE(db->upsert_batch(ids, data->train).ok());

  const size_t kQueries = 40, k = 10;
  std::span<const float> queries(data->test.data(), kQueries * dim);
  auto batch = db->search_batch(queries, k);
  REQUIRE(batch.ok());
  std::vector<double> dist(n);
  std::vector<size_t> order(n);
  for (size_t q = 0; q < kQueries; ++q) {
    const float* qv = data->test.data() + q * dim;
    for (size_t i = 0; i < n; ++i) {
      const float* x = data->train.data() + i * dim;
      double s = 0;
      for (size_t d = 0; d < dim; ++d) s += (double(qv[d]) - x[d]) * (double(qv[d]) - x[d]);
      dist[i] = std::sqrt(s);
    }
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](size_t a, size_t b) {
      return dist[a] < dist[b] || (dist[a] == dist[b] && a < b);
    });
    const auto& hits = (*batch)[q];
    REQUIRE(hits.size() == k);
    for (size_t j = 0; j < k; ++j) {
      // Pixel data are integers, so squared distances are exact in f32 and
      // the ids must agree exactly, ties included.
      CHECK(hits[j].id.as_u64() == order[j]);
      CHECK(hits[j].distance == doctest::Approx(dist[order[j]]).epsilon(1e-6));
    }
  }
}
