#include "ann/rotation.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <new>
#include <random>
#include <thread>

#include "kernels/gemm.h"

namespace iqdb::bench {
namespace {

// Rows of `a` (n x n, row-major) made orthonormal in order.
void gram_schmidt(std::vector<double>& a, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    double* ri = a.data() + i * n;
    for (size_t j = 0; j < i; ++j) {
      const double* rj = a.data() + j * n;
      double dot = 0;
      for (size_t k = 0; k < n; ++k) dot += ri[k] * rj[k];
      for (size_t k = 0; k < n; ++k) ri[k] -= dot * rj[k];
    }
    double norm = 0;
    for (size_t k = 0; k < n; ++k) norm += ri[k] * ri[k];
    norm = std::sqrt(norm);
    for (size_t k = 0; k < n; ++k) ri[k] /= norm;
  }
}

struct AlignedFree {
  void operator()(float* p) const { ::operator delete[](p, std::align_val_t{64}); }
};
using AlignedFloats = std::unique_ptr<float[], AlignedFree>;
AlignedFloats aligned_floats(size_t n) {
  return AlignedFloats(new (std::align_val_t{64}) float[n]());
}

}  // namespace

Rotation Rotation::random(size_t dim, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> gauss(0.0, 1.0);
  std::vector<double> a(dim * dim);
  for (double& v : a) v = gauss(rng);
  // The second pass removes what rounding left of the earlier directions.
  gram_schmidt(a, dim);
  gram_schmidt(a, dim);
  Rotation r;
  r.dim_ = dim;
  r.q_.assign(a.begin(), a.end());
  return r;
}

void Rotation::apply_in_place(float* rows, size_t n, size_t threads) const {
  const kernels::GemmKernels& g = kernels::active_gemm_kernels();
  const size_t panel_vectors = g.max_panel_vectors;
  const size_t width = panel_vectors * g.lanes;
  const size_t panels = (dim_ + width - 1) / width;
  // The rows of Q are the "queries" of the kernel: out[r][j] = Q_j . x_r.
  std::vector<AlignedFloats> packed;
  for (size_t p = 0; p < panels; ++p) {
    packed.push_back(aligned_floats(dim_ * width));
    const size_t count = std::min(width, dim_ - p * width);
    g.pack_queries(q_.data() + p * width * dim_, dim_, count, dim_, panel_vectors,
                   packed.back().get());
  }
  constexpr size_t kTile = 64;  // rows per kernel call
  auto work = [&](size_t begin, size_t end) {
    AlignedFloats out = aligned_floats(kTile * width);
    std::vector<float> rotated(kTile * dim_);
    for (size_t t = begin; t < end; t += kTile) {
      const size_t m = std::min(kTile, end - t);
      float* tile = rows + t * dim_;
      for (size_t p = 0; p < panels; ++p) {
        g.dot_panel(packed[p].get(), panel_vectors, tile, dim_, nullptr, m, dim_, nullptr,
                    out.get(), nullptr);
        const size_t count = std::min(width, dim_ - p * width);
        for (size_t r = 0; r < m; ++r) {
          std::memcpy(rotated.data() + r * dim_ + p * width, out.get() + r * width,
                      count * sizeof(float));
        }
      }
      std::memcpy(tile, rotated.data(), m * dim_ * sizeof(float));
    }
  };
  threads = std::max<size_t>(1, threads);
  const size_t per = (n + threads - 1) / threads;
  std::vector<std::thread> pool;
  for (size_t i = 0; i < threads; ++i) {
    const size_t begin = std::min(n, i * per), end = std::min(n, begin + per);
    if (begin < end) pool.emplace_back(work, begin, end);
  }
  for (auto& th : pool) th.join();
}

}  // namespace iqdb::bench
