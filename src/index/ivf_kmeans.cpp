#include "index/ivf_kmeans.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "exec/parallel.h"
#include "kernels/distance.h"
#include "kernels/pq.h"

namespace iqdb::index::ivf {
namespace {

// Rows per parallel task: enough work to amortise scheduling, small enough
// that two cores share the load evenly.
constexpr size_t kRowGrain = 128;
// Lloyd stops once at most 1 / kStableFraction of the rows change cluster.
constexpr size_t kStableFraction = 1000;
// Small-dimensional L2 (PQ subspaces) uses the transposed-codebook kernel.
constexpr size_t kSmallDim = 8;

// Distance of k-means++ sampling: D^2 for L2 (the classic weighting), D for
// the L1 and Hamming variants.
void seed_distances(PartitionDistance distance, const float* centroid, const float* rows,
                    size_t row_stride, const uint32_t* idx, size_t n, size_t dim, float* out) {
  const kernels::DistanceKernels& kern = kernels::active_kernels();
  switch (distance) {
    case PartitionDistance::kL2:
      kern.l2_squared_gather(centroid, rows, row_stride, idx, n, dim, out);
      return;
    case PartitionDistance::kL1:
      kern.l1_gather(centroid, rows, row_stride, idx, n, dim, out);
      return;
    case PartitionDistance::kHamming:
      kern.hamming_gather(centroid, rows, row_stride, idx, n, dim, out);
      return;
  }
}

// k-means++ over a random subset of the rows: each next centroid is a row
// drawn with probability proportional to its distance to the nearest chosen
// centroid. When every remaining row coincides with a centroid (fewer
// distinct rows than k), rows are drawn uniformly.
void seed_plus_plus(const float* rows, size_t row_stride, size_t n, size_t dim, size_t k,
                    PartitionDistance distance, const KMeansOptions& options, std::mt19937_64& rng,
                    float* centroids, size_t centroid_stride) {
  const size_t limit =
      options.max_seed_rows != 0 ? options.max_seed_rows : std::max<size_t>(16 * k, 4096);
  const size_t m = std::min(n, std::max(limit, k));
  std::vector<uint32_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0u);
  for (size_t i = 0; i < m; ++i) {  // partial Fisher-Yates: idx[0, m) is a uniform sample
    std::uniform_int_distribution<size_t> pick(i, n - 1);
    std::swap(idx[i], idx[pick(rng)]);
  }
  idx.resize(m);

  auto set_centroid = [&](size_t j, uint32_t row) {
    std::memcpy(centroids + j * centroid_stride, rows + size_t{row} * row_stride,
                dim * sizeof(float));
  };
  std::vector<float> best(m, std::numeric_limits<float>::infinity());
  std::vector<float> fresh(m);
  std::uniform_int_distribution<size_t> uniform(0, m - 1);
  set_centroid(0, idx[uniform(rng)]);
  for (size_t j = 0;; ++j) {
    const float* c = centroids + j * centroid_stride;
    exec::parallel_for(0, m, 512, [&](size_t begin, size_t end) {
      seed_distances(distance, c, rows, row_stride, idx.data() + begin, end - begin, dim,
                     fresh.data() + begin);
      for (size_t i = begin; i < end; ++i) best[i] = std::min(best[i], fresh[i]);
    });
    if (j + 1 == k) break;
    double total = 0;
    for (float b : best) total += b;
    size_t chosen = uniform(rng);
    if (total > 0) {
      double target = std::uniform_real_distribution<double>(0.0, total)(rng);
      for (size_t i = 0; i < m; ++i) {
        target -= best[i];
        if (target < 0 || i + 1 == m) {
          chosen = i;
          break;
        }
      }
      // Rounding can land on a row already chosen; the next positive one
      // is as good a draw.
      while (best[chosen] <= 0 && chosen + 1 < m) ++chosen;
    }
    set_centroid(j + 1, idx[chosen]);
  }
}

// Per-dimension median (lower median) or mode (ties to the smaller value)
// of the member rows.
void robust_centre(PartitionDistance distance, const float* rows, size_t row_stride,
                   const uint32_t* members, size_t count, size_t dim, float* out) {
  std::vector<float> values(count);
  for (size_t d = 0; d < dim; ++d) {
    for (size_t i = 0; i < count; ++i) values[i] = rows[size_t{members[i]} * row_stride + d];
    if (distance == PartitionDistance::kL1) {
      auto mid = values.begin() + static_cast<std::ptrdiff_t>((count - 1) / 2);
      std::nth_element(values.begin(), mid, values.end());
      out[d] = *mid;
      continue;
    }
    std::sort(values.begin(), values.end());
    float mode = values[0];
    size_t best_run = 0;
    for (size_t i = 0; i < count;) {
      size_t j = i;
      while (j < count && values[j] == values[i]) ++j;
      if (j - i > best_run) {
        best_run = j - i;
        mode = values[i];
      }
      i = j;
    }
    out[d] = mode;
  }
}

}  // namespace

void centroid_norms(const float* centroids, size_t centroid_stride, size_t k, size_t dim,
                    float* out) {
  const kernels::DistanceKernels& kern = kernels::active_kernels();
  for (size_t j = 0; j < k; ++j) {
    const float* c = centroids + j * centroid_stride;
    out[j] = kern.squared_norm(c, c, dim);
  }
}

void assign_nearest(PartitionDistance distance, const float* rows, size_t row_stride, size_t n,
                    size_t dim, const float* centroids, size_t centroid_stride,
                    const float* centroid_sq_norms, size_t k, uint32_t* labels, float* dists) {
  if (n == 0) return;
  if (distance == PartitionDistance::kL2 && dim <= kSmallDim && k % 16 == 0) {
    // Few dimensions: one vector holds many centroids (transposed layout).
    std::vector<float> transposed(dim * k);
    for (size_t j = 0; j < k; ++j) {
      for (size_t d = 0; d < dim; ++d) transposed[d * k + j] = centroids[j * centroid_stride + d];
    }
    const kernels::PqKernels& pq = kernels::active_pq_kernels();
    exec::parallel_for(0, n, 1024, [&](size_t begin, size_t end) {
      pq.assign(rows + begin * row_stride, row_stride, end - begin, dim, transposed.data(), 0, k,
                labels + begin, dists != nullptr ? dists + begin : nullptr);
    });
    return;
  }
  if (distance == PartitionDistance::kL2) {
    const kernels::PqKernels& pq = kernels::active_pq_kernels();
    exec::parallel_for(0, n, kRowGrain, [&](size_t begin, size_t end) {
      pq.nearest_l2(rows + begin * row_stride, row_stride, end - begin, centroids, centroid_stride,
                    centroid_sq_norms, k, dim, labels + begin,
                    dists != nullptr ? dists + begin : nullptr);
    });
    return;
  }
  const kernels::DistanceKernels& kern = kernels::active_kernels();
  const kernels::BlockFn block =
      distance == PartitionDistance::kL1 ? kern.l1_block : kern.hamming_block;
  exec::parallel_for(0, n, kRowGrain, [&](size_t begin, size_t end) {
    std::vector<float> out(k);
    for (size_t i = begin; i < end; ++i) {
      block(rows + i * row_stride, centroids, centroid_stride, k, dim, out.data());
      size_t best = 0;
      for (size_t j = 1; j < k; ++j) {
        if (out[j] < out[best]) best = j;
      }
      labels[i] = static_cast<uint32_t>(best);
      if (dists != nullptr) dists[i] = out[best];
    }
  });
}

void train_kmeans(const float* rows, size_t row_stride, size_t n, size_t dim, size_t k,
                  PartitionDistance distance, const KMeansOptions& options, float* centroids,
                  size_t centroid_stride) {
  if (n == 0 || k == 0) return;
  std::mt19937_64 rng(options.seed);
  seed_plus_plus(rows, row_stride, n, dim, k, distance, options, rng, centroids, centroid_stride);

  std::vector<uint32_t> labels(n), previous(n, UINT32_MAX);
  std::vector<float> dists(n), norms(k);
  std::vector<uint32_t> order(n), first(k + 1);
  for (size_t it = 0; it < options.iterations; ++it) {
    if (distance == PartitionDistance::kL2) {
      centroid_norms(centroids, centroid_stride, k, dim, norms.data());
    }
    assign_nearest(distance, rows, row_stride, n, dim, centroids, centroid_stride, norms.data(), k,
                   labels.data(), dists.data());
    size_t changed = 0;
    for (size_t i = 0; i < n; ++i) changed += labels[i] != previous[i];
    // Converged: (almost) no row moved, so the centroids would barely move.
    if (changed <= n / kStableFraction) break;
    previous = labels;

    // Members of each cluster, in row order (counting sort).
    std::fill(first.begin(), first.end(), 0u);
    for (uint32_t l : labels) ++first[l + 1];
    for (size_t j = 0; j < k; ++j) first[j + 1] += first[j];
    {
      std::vector<uint32_t> fill(first.begin(), first.end() - 1);
      for (size_t i = 0; i < n; ++i) order[fill[labels[i]]++] = static_cast<uint32_t>(i);
    }
    exec::parallel_for(0, k, 4, [&](size_t begin, size_t end) {
      std::vector<float> sum(dim);
      for (size_t j = begin; j < end; ++j) {
        const size_t count = first[j + 1] - first[j];
        if (count == 0) continue;
        const uint32_t* members = order.data() + first[j];
        float* c = centroids + j * centroid_stride;
        if (distance != PartitionDistance::kL2) {
          robust_centre(distance, rows, row_stride, members, count, dim, c);
          continue;
        }
        // Float sums vectorise; a centroid needs no more precision.
        std::fill(sum.begin(), sum.end(), 0.0f);
        for (size_t i = 0; i < count; ++i) {
          const float* r = rows + size_t{members[i]} * row_stride;
          for (size_t d = 0; d < dim; ++d) sum[d] += r[d];
        }
        const float inv = 1.0f / static_cast<float>(count);
        for (size_t d = 0; d < dim; ++d) c[d] = sum[d] * inv;
      }
    });

    // Empty clusters take the rows farthest from their centroids.
    std::vector<size_t> empty;
    for (size_t j = 0; j < k; ++j) {
      if (first[j + 1] == first[j]) empty.push_back(j);
    }
    if (empty.empty()) continue;
    std::vector<uint32_t> far(n);
    std::iota(far.begin(), far.end(), 0u);
    const size_t take = std::min(empty.size(), n);
    std::partial_sort(far.begin(), far.begin() + static_cast<std::ptrdiff_t>(take), far.end(),
                      [&](uint32_t a, uint32_t b) {
                        return dists[a] > dists[b] || (dists[a] == dists[b] && a < b);
                      });
    for (size_t e = 0; e < empty.size(); ++e) {
      const uint32_t row = far[e % take];
      std::memcpy(centroids + empty[e] * centroid_stride, rows + size_t{row} * row_stride,
                  dim * sizeof(float));
    }
  }
}

}  // namespace iqdb::index::ivf
