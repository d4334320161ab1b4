// Per-target body of the k-means assignment kernel of pq.h (nearest_l2):
// many rows against many centroids in squared L2, through |x|^2 + |c|^2 -
// 2 x.c. pq.cc compiles this file once per Highway target through
// foreach_target.h; the f32 tails and reductions come from distance-inl.h.

// Toggled include guard: this file is compiled once per target.
#if defined(IQDB_KERNELS_KMEANS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef IQDB_KERNELS_KMEANS_INL_H_
#undef IQDB_KERNELS_KMEANS_INL_H_
#else
#define IQDB_KERNELS_KMEANS_INL_H_
#endif

#include <cstddef>
#include <cstdint>
#include <limits>

#include <hwy/highway.h>

#include "kernels/distance-inl.h"

HWY_BEFORE_NAMESPACE();
namespace iqdb::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// ---- nearest_l2: a tile of rows against four centroids per pass over
// dim, so that every loaded vector feeds several multiply-adds. Four rows
// (16 accumulators) where there are 32 vector registers (AVX-512), two rows
// (8 accumulators) elsewhere.

#if HWY_TARGET <= HWY_AVX3 && HWY_ARCH_X86
inline constexpr size_t kTileRows = 4;
#else
inline constexpr size_t kTileRows = 2;
#endif

struct DotTile {
  float d[4][4];  // [row][centroid]; rows past kTileRows unused
};

// Accumulates row r against centroids c0..c3 for one vector of dims.
#define IQDB_PQ_DOT4(r, x)              \
  a##r##0 = hn::MulAdd(x, k0, a##r##0); \
  a##r##1 = hn::MulAdd(x, k1, a##r##1); \
  a##r##2 = hn::MulAdd(x, k2, a##r##2); \
  a##r##3 = hn::MulAdd(x, k3, a##r##3)

HWY_INLINE DotTile dot_tile(FloatTag d, const float* const* r, const float* c0, const float* c1,
                            const float* c2, const float* c3, size_t dim, const Tail& tail,
                            FloatMask keep) {
  const size_t lanes = hn::Lanes(d);
  FloatVec a00 = hn::Zero(d), a01 = hn::Zero(d), a02 = hn::Zero(d), a03 = hn::Zero(d);
  FloatVec a10 = hn::Zero(d), a11 = hn::Zero(d), a12 = hn::Zero(d), a13 = hn::Zero(d);
#if HWY_TARGET <= HWY_AVX3 && HWY_ARCH_X86
  FloatVec a20 = hn::Zero(d), a21 = hn::Zero(d), a22 = hn::Zero(d), a23 = hn::Zero(d);
  FloatVec a30 = hn::Zero(d), a31 = hn::Zero(d), a32 = hn::Zero(d), a33 = hn::Zero(d);
#endif
  size_t i = 0;
  for (; i + lanes <= dim; i += lanes) {
    const FloatVec k0 = hn::LoadU(d, c0 + i), k1 = hn::LoadU(d, c1 + i);
    const FloatVec k2 = hn::LoadU(d, c2 + i), k3 = hn::LoadU(d, c3 + i);
    const FloatVec x0 = hn::LoadU(d, r[0] + i);
    IQDB_PQ_DOT4(0, x0);
    const FloatVec x1 = hn::LoadU(d, r[1] + i);
    IQDB_PQ_DOT4(1, x1);
#if HWY_TARGET <= HWY_AVX3 && HWY_ARCH_X86
    const FloatVec x2 = hn::LoadU(d, r[2] + i);
    IQDB_PQ_DOT4(2, x2);
    const FloatVec x3 = hn::LoadU(d, r[3] + i);
    IQDB_PQ_DOT4(3, x3);
#endif
  }
  if (i != dim) {
    const FloatVec k0 = load_tail(d, tail, keep, c0), k1 = load_tail(d, tail, keep, c1);
    const FloatVec k2 = load_tail(d, tail, keep, c2), k3 = load_tail(d, tail, keep, c3);
    const FloatVec x0 = load_tail(d, tail, keep, r[0]);
    IQDB_PQ_DOT4(0, x0);
    const FloatVec x1 = load_tail(d, tail, keep, r[1]);
    IQDB_PQ_DOT4(1, x1);
#if HWY_TARGET <= HWY_AVX3 && HWY_ARCH_X86
    const FloatVec x2 = load_tail(d, tail, keep, r[2]);
    IQDB_PQ_DOT4(2, x2);
    const FloatVec x3 = load_tail(d, tail, keep, r[3]);
    IQDB_PQ_DOT4(3, x3);
#endif
  }
  DotTile t;
  t.d[0][0] = reduce(d, a00);
  t.d[0][1] = reduce(d, a01);
  t.d[0][2] = reduce(d, a02);
  t.d[0][3] = reduce(d, a03);
  t.d[1][0] = reduce(d, a10);
  t.d[1][1] = reduce(d, a11);
  t.d[1][2] = reduce(d, a12);
  t.d[1][3] = reduce(d, a13);
#if HWY_TARGET <= HWY_AVX3 && HWY_ARCH_X86
  t.d[2][0] = reduce(d, a20);
  t.d[2][1] = reduce(d, a21);
  t.d[2][2] = reduce(d, a22);
  t.d[2][3] = reduce(d, a23);
  t.d[3][0] = reduce(d, a30);
  t.d[3][1] = reduce(d, a31);
  t.d[3][2] = reduce(d, a32);
  t.d[3][3] = reduce(d, a33);
#endif
  return t;
}

#undef IQDB_PQ_DOT4

inline void nearest_l2_kernel(const float* rows, size_t row_stride, size_t n,
                              const float* centroids, size_t centroid_stride,
                              const float* centroid_sq_norms, size_t k, size_t dim,
                              uint32_t* labels, float* dists) {
  const FloatTag d;
  if (needs_scalar(d, dim)) {
    for (size_t i = 0; i < n; ++i) {
      const float* row = rows + i * row_stride;
      float best = std::numeric_limits<float>::infinity();
      uint32_t label = 0;
      for (size_t j = 0; j < k; ++j) {
        const float dist = scalar_row<L2SquaredOp>(row, centroids + j * centroid_stride, dim);
        if (dist < best) {
          best = dist;
          label = static_cast<uint32_t>(j);
        }
      }
      labels[i] = label;
      if (dists != nullptr) dists[i] = best;
    }
    return;
  }
  const Tail tail = make_tail(d, dim);
  const FloatMask keep = tail_mask(d, tail);
  for (size_t i = 0; i < n; i += kTileRows) {
    const size_t count = n - i < kTileRows ? n - i : kTileRows;
    // Short tiles repeat their last row; only `count` results are kept.
    const float* r[kTileRows];
    float norm[kTileRows], best[kTileRows];
    uint32_t label[kTileRows];
    for (size_t t = 0; t < kTileRows; ++t) {
      r[t] = rows + (i + (t < count ? t : count - 1)) * row_stride;
      const FloatVec row_tail = tail.remaining != 0 ? load_tail(d, tail, keep, r[t]) : hn::Zero(d);
      norm[t] = one_row<SquaredNormOp>(d, r[t], r[t], dim, tail, keep, row_tail);
      best[t] = std::numeric_limits<float>::infinity();
      label[t] = 0;
    }
    for (size_t j = 0; j < k; j += 4) {
      const float* c[4];
      for (size_t b = 0; b < 4; ++b) {
        c[b] = centroids + (j + b < k ? j + b : k - 1) * centroid_stride;
      }
      const DotTile tile = dot_tile(d, r, c[0], c[1], c[2], c[3], dim, tail, keep);
      const size_t in_tile = k - j < 4 ? k - j : 4;
      for (size_t b = 0; b < in_tile; ++b) {
        const float cn = centroid_sq_norms[j + b];
        for (size_t t = 0; t < kTileRows; ++t) {
          const float dist = norm[t] + cn - 2.0f * tile.d[t][b];
          if (dist < best[t]) {  // strictly: ties keep the lower centroid
            best[t] = dist;
            label[t] = static_cast<uint32_t>(j + b);
          }
        }
      }
    }
    for (size_t t = 0; t < count; ++t) {
      labels[i + t] = label[t];
      if (dists != nullptr) dists[i + t] = best[t] > 0.0f ? best[t] : 0.0f;
    }
  }
}

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace iqdb::kernels
HWY_AFTER_NAMESPACE();

#endif  // IQDB_KERNELS_KMEANS_INL_H_
