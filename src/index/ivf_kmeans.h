// k-means for the IVF index: k-means++ seeding, Lloyd iterations, empty
// clusters re-seeded. The assignment step runs on the Highway kernels
// (kernels/pq.h nearest_l2 and assign, kernels/distance.h for L1/Hamming)
// and in parallel (exec::parallel_for).
//
// Three partition distances, each with the centroid that minimises it:
//   kL2      squared Euclidean, centroid = mean (k-means);
//   kL1      Manhattan, centroid = per-dimension median (k-medians);
//   kHamming differing positions, centroid = per-dimension mode (k-modes).
//
// Deterministic for a fixed seed: parallel work is split so that no result
// depends on the number of threads.
//
// Thread-safety: free functions over caller-owned buffers; they may run
// concurrently on different buffers. They allocate (std::bad_alloc
// propagates to the caller).
#pragma once

#include <cstddef>
#include <cstdint>

namespace iqdb::index::ivf {

enum class PartitionDistance : uint8_t { kL2, kL1, kHamming };

struct KMeansOptions {
  size_t iterations = 10;    // Lloyd iterations at most; stops once at most
                             // 0.1% of the rows change cluster
  size_t max_seed_rows = 0;  // k-means++ runs on at most this many rows;
                             // 0: 16 per cluster, at least 4096
  uint64_t seed = 0x5EED;
};

// Trains k centroids over n rows (rows + i * row_stride, dim floats each)
// into centroids + j * centroid_stride (dim floats each; floats from dim to
// centroid_stride are left as they are). Works for any n >= 1 and k >= 1:
// with fewer distinct rows than k some centroids repeat.
void train_kmeans(const float* rows, size_t row_stride, size_t n, size_t dim, size_t k,
                  PartitionDistance distance, const KMeansOptions& options, float* centroids,
                  size_t centroid_stride);

// For n rows, the nearest of k centroids (ties to the lower index) and the
// distance to it (squared for kL2). `centroid_sq_norms` (k floats) is needed
// for kL2 only and may be null otherwise. In parallel over rows.
void assign_nearest(PartitionDistance distance, const float* rows, size_t row_stride, size_t n,
                    size_t dim, const float* centroids, size_t centroid_stride,
                    const float* centroid_sq_norms, size_t k, uint32_t* labels, float* dists);

// Squared norms of k centroids (for assign_nearest with kL2).
void centroid_norms(const float* centroids, size_t centroid_stride, size_t k, size_t dim,
                    float* out);

}  // namespace iqdb::index::ivf
