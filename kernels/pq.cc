// PQ and k-means kernels of pq.h, compiled once per Highway target.
//
// foreach_target.h re-includes this file once per target in HWY_TARGETS
// (HWY_NAMESPACE names the target); each pass builds that target's PqKernels
// table. The final pass (HWY_ONCE) exports the per-target table getters and
// picks one at run time, exactly like distance.cc. The f32 helpers (tails,
// reductions) come from distance-inl.h, compiled here per target too.
//
// Fast-scan arithmetic (fs4_scan). Per 128-bit block of a register, one
// byte shuffle (TableLookupBytes, pshufb on x86) looks up 16 vectors of one
// subquantizer; the low nibbles give vectors 0..15 of the block of 32, the
// high nibbles vectors 16..31. The uint8 results are summed in uint16 lanes
// without widening: viewing the 16 result bytes as 8 uint16 lanes, lane t
// is r[2t] + 256 r[2t+1]. Adding that to accumulator A and (lane >> 8) =
// r[2t+1] to accumulator B gives, mod 2^16, A = sum r[2t] + 256 sum r[2t+1]
// and B = sum r[2t+1], so sum r[2t] = A - 256 B (mod 2^16), exact because
// fs4_quantize_lut keeps every true sum below 2^16. Blocks of a wider
// register hold different subquantizers of the same vectors; they are added
// together at the end of each block of 32 vectors.

#include "kernels/pq.h"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/pq.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/cache_control.h>
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
                            const float* c2, const float* c3, size_t dim, const Tail& tail) {
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
    const FloatVec k0 = load_tail(d, tail, c0), k1 = load_tail(d, tail, c1);
    const FloatVec k2 = load_tail(d, tail, c2), k3 = load_tail(d, tail, c3);
    const FloatVec x0 = load_tail(d, tail, r[0]);
    IQDB_PQ_DOT4(0, x0);
    const FloatVec x1 = load_tail(d, tail, r[1]);
    IQDB_PQ_DOT4(1, x1);
#if HWY_TARGET <= HWY_AVX3 && HWY_ARCH_X86
    const FloatVec x2 = load_tail(d, tail, r[2]);
    IQDB_PQ_DOT4(2, x2);
    const FloatVec x3 = load_tail(d, tail, r[3]);
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

void nearest_l2_kernel(const float* rows, size_t row_stride, size_t n, const float* centroids,
                       size_t centroid_stride, const float* centroid_sq_norms, size_t k, size_t dim,
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
  for (size_t i = 0; i < n; i += kTileRows) {
    const size_t count = n - i < kTileRows ? n - i : kTileRows;
    // Short tiles repeat their last row; only `count` results are kept.
    const float* r[kTileRows];
    float norm[kTileRows], best[kTileRows];
    uint32_t label[kTileRows];
    for (size_t t = 0; t < kTileRows; ++t) {
      r[t] = rows + (i + (t < count ? t : count - 1)) * row_stride;
      const FloatVec row_tail = dim % hn::Lanes(d) != 0 ? load_tail(d, tail, r[t]) : hn::Zero(d);
      norm[t] = one_row<SquaredNormOp>(d, r[t], r[t], dim, tail, row_tail);
      best[t] = std::numeric_limits<float>::infinity();
      label[t] = 0;
    }
    for (size_t j = 0; j < k; j += 4) {
      const float* c[4];
      for (size_t b = 0; b < 4; ++b) {
        c[b] = centroids + (j + b < k ? j + b : k - 1) * centroid_stride;
      }
      const DotTile tile = dot_tile(d, r, c[0], c[1], c[2], c[3], dim, tail);
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

// ---- Tables and assignment against transposed codebooks: one vector holds
// consecutive codewords j of one subquantizer and dimension.

// Codewords per vector: at most 16 so that a ksub multiple of 16 is always a
// whole number of vectors.
using CodeTag = hn::CappedTag<float, 16>;
using CodeVec = hn::Vec<CodeTag>;
using IndexTag = hn::RebindToSigned<CodeTag>;

// kDsub > 0 fixes dsub at compile time (no inner loop, no branches).
template <size_t kDsub>
HWY_INLINE void l2_table_impl(const float* x, const float* center, size_t num_sub, size_t dsub,
                              const float* codebooks, size_t ksub, float* out) {
  const CodeTag d;
  const size_t lanes = hn::Lanes(d);
  const size_t ds = kDsub != 0 ? kDsub : dsub;
  for (size_t m = 0; m < num_sub; ++m) {
    const float* xm = x + m * ds;
    const float* cb = codebooks + m * ds * ksub;
    float a[kDsub != 0 ? kDsub : 1];
    if constexpr (kDsub != 0) {
      for (size_t dd = 0; dd < kDsub; ++dd)
        a[dd] = center != nullptr ? xm[dd] - center[m * ds + dd] : xm[dd];
    }
    for (size_t j = 0; j < ksub; j += lanes) {
      CodeVec acc = hn::Zero(d);
      if constexpr (kDsub == 0) {
        for (size_t dd = 0; dd < ds; ++dd) {
          const float v = center != nullptr ? xm[dd] - center[m * ds + dd] : xm[dd];
          const CodeVec diff = hn::Sub(hn::Set(d, v), hn::LoadU(d, cb + dd * ksub + j));
          acc = hn::MulAdd(diff, diff, acc);
        }
      } else {
        for (size_t dd = 0; dd < kDsub; ++dd) {
          const CodeVec diff = hn::Sub(hn::Set(d, a[dd]), hn::LoadU(d, cb + dd * ksub + j));
          acc = hn::MulAdd(diff, diff, acc);
        }
      }
      hn::StoreU(acc, d, out + m * ksub + j);
    }
  }
}

void l2_table_kernel(const float* x, const float* center, size_t num_sub, size_t dsub,
                     const float* codebooks, size_t ksub, float* out) {
  switch (dsub) {
    case 1: return l2_table_impl<1>(x, center, num_sub, dsub, codebooks, ksub, out);
    case 2: return l2_table_impl<2>(x, center, num_sub, dsub, codebooks, ksub, out);
    case 4: return l2_table_impl<4>(x, center, num_sub, dsub, codebooks, ksub, out);
    default: return l2_table_impl<0>(x, center, num_sub, dsub, codebooks, ksub, out);
  }
}

void neg_dot_table_kernel(const float* x, size_t num_sub, size_t dsub, const float* codebooks,
                          size_t ksub, float* out) {
  const CodeTag d;
  const size_t lanes = hn::Lanes(d);
  for (size_t m = 0; m < num_sub; ++m) {
    const float* xm = x + m * dsub;
    const float* cb = codebooks + m * dsub * ksub;
    for (size_t j = 0; j < ksub; j += lanes) {
      CodeVec acc = hn::Zero(d);
      for (size_t dd = 0; dd < dsub; ++dd) {
        acc = hn::MulAdd(hn::Set(d, xm[dd]), hn::LoadU(d, cb + dd * ksub + j), acc);
      }
      hn::StoreU(hn::Neg(acc), d, out + m * ksub + j);
    }
  }
}

// Nearest codeword of each point; kDsub > 0 fixes dsub at compile time (the
// point's coordinates then stay broadcast in registers across codewords).
template <size_t kDsub>
HWY_INLINE void assign_impl(const float* x, size_t x_stride, size_t n, size_t dsub,
                            const float* codebook, size_t codebook_stride, size_t ksub,
                            uint32_t* labels, float* dists) {
  const CodeTag d;
  const IndexTag di;
  const size_t lanes = hn::Lanes(d);
  const size_t ds = kDsub != 0 ? kDsub : dsub;
  const CodeVec inf = hn::Set(d, std::numeric_limits<float>::infinity());
  // Codeword numbers of the first pass; later passes add to them (a fresh
  // Iota per pass compiles to stack stores that stall the next load).
  const hn::Vec<IndexTag> first_index = hn::Iota(di, 0);
  const hn::Vec<IndexTag> step = hn::Set(di, static_cast<int32_t>(lanes));
  for (size_t i = 0; i < n; ++i) {
    const float* p = x + i * x_stride;
    const float* cb = codebook + i * codebook_stride;
    CodeVec p0 = hn::Zero(d), p1 = hn::Zero(d), p2 = hn::Zero(d), p3 = hn::Zero(d);
    if constexpr (kDsub >= 1) p0 = hn::Set(d, p[0]);
    if constexpr (kDsub >= 2) p1 = hn::Set(d, p[1]);
    if constexpr (kDsub >= 3) p2 = hn::Set(d, p[2]);
    if constexpr (kDsub >= 4) p3 = hn::Set(d, p[3]);
    CodeVec best = inf;
    hn::Vec<IndexTag> best_index = hn::Zero(di);
    hn::Vec<IndexTag> index = first_index;
    for (size_t j = 0; j < ksub; j += lanes, index = hn::Add(index, step)) {
      CodeVec acc = hn::Zero(d);
      if constexpr (kDsub == 0) {
        for (size_t dd = 0; dd < ds; ++dd) {
          const CodeVec diff = hn::Sub(hn::Set(d, p[dd]), hn::LoadU(d, cb + dd * ksub + j));
          acc = hn::MulAdd(diff, diff, acc);
        }
      } else {
        CodeVec diff = hn::Sub(p0, hn::LoadU(d, cb + j));
        acc = hn::Mul(diff, diff);
        if constexpr (kDsub >= 2) {
          diff = hn::Sub(p1, hn::LoadU(d, cb + ksub + j));
          acc = hn::MulAdd(diff, diff, acc);
        }
        if constexpr (kDsub >= 3) {
          diff = hn::Sub(p2, hn::LoadU(d, cb + 2 * ksub + j));
          acc = hn::MulAdd(diff, diff, acc);
        }
        if constexpr (kDsub >= 4) {
          diff = hn::Sub(p3, hn::LoadU(d, cb + 3 * ksub + j));
          acc = hn::MulAdd(diff, diff, acc);
        }
      }
      // Strictly less: on a tie the earlier codeword (earlier pass) stays.
      const auto better = hn::Lt(acc, best);
      best = hn::IfThenElse(better, acc, best);
      best_index = hn::IfThenElse(hn::RebindMask(di, better), index, best_index);
    }
    const CodeVec min = hn::MinOfLanes(d, best);
    const auto at_min = hn::RebindMask(di, hn::Eq(best, min));
    const auto candidates =
        hn::IfThenElse(at_min, best_index, hn::Set(di, std::numeric_limits<int32_t>::max()));
    const int32_t label = hn::GetLane(hn::MinOfLanes(di, candidates));
    // All-NaN rows never compare less: label 0 then, like the scalar code.
    labels[i] = label == std::numeric_limits<int32_t>::max() ? 0u : static_cast<uint32_t>(label);
    if (dists != nullptr) dists[i] = hn::GetLane(min);
  }
}

void assign_kernel(const float* x, size_t x_stride, size_t n, size_t dsub, const float* codebook,
                   size_t codebook_stride, size_t ksub, uint32_t* labels, float* dists) {
  switch (dsub) {
    case 1:
      return assign_impl<1>(x, x_stride, n, dsub, codebook, codebook_stride, ksub, labels, dists);
    case 2:
      return assign_impl<2>(x, x_stride, n, dsub, codebook, codebook_stride, ksub, labels, dists);
    case 4:
      return assign_impl<4>(x, x_stride, n, dsub, codebook, codebook_stride, ksub, labels, dists);
    default:
      return assign_impl<0>(x, x_stride, n, dsub, codebook, codebook_stride, ksub, labels, dists);
  }
}

// ---- 8-bit ADC: table lookups are scalar loads (a gather per byte would
// cost more); four codes at a time keep four independent sums in flight.

void pq8_scan_kernel(const uint8_t* codes, size_t n, size_t num_sub, const float* table,
                     float* out) {
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const uint8_t* c0 = codes + i * num_sub;
    const uint8_t* c1 = c0 + num_sub;
    const uint8_t* c2 = c1 + num_sub;
    const uint8_t* c3 = c2 + num_sub;
    float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
    for (size_t m = 0; m < num_sub; ++m) {
      const float* t = table + m * 256;
      s0 += t[c0[m]];
      s1 += t[c1[m]];
      s2 += t[c2[m]];
      s3 += t[c3[m]];
    }
    out[i] = s0;
    out[i + 1] = s1;
    out[i + 2] = s2;
    out[i + 3] = s3;
  }
  for (; i < n; ++i) {
    const uint8_t* c = codes + i * num_sub;
    float s = 0.0f;
    for (size_t m = 0; m < num_sub; ++m) s += table[m * 256 + c[m]];
    out[i] = s;
  }
}

// ---- 4-bit fast scan.

// ---- Fast-scan LUT quantisation. A "row source" yields row m of the float
// table (16 entries) folded into one vector's worth of lanes at a time:
//   Src::chunk(m, c) is entries [c * lanes, (c + 1) * lanes) of row m.
// Pass 1 finds every row's minimum and span, pass 2 (after the scale is
// known) rounds the rows into the LUT.
//
// Row extrema: each row is folded into one vector (Min/Max of its chunks);
// the vectors of `lanes` consecutive rows are then merged pairwise with
// ConcatEven/ConcatOdd, depth first, so that lane t of the final vector holds
// row t's extremum: lanes - 1 merges per group of rows instead of one
// horizontal reduction per row, with few vectors live at a time.

#if HWY_HAVE_SCALABLE || HWY_TARGET == HWY_SCALAR
inline constexpr size_t kGroupLevels = 0;  // one row at a time
#else
inline constexpr size_t kGroupLevels = hwy::CeilLog2(hn::MaxLanes(CodeTag()));
#endif
inline constexpr size_t kGroupRows = size_t{1} << kGroupLevels;

template <size_t kLevel, class Src>
HWY_INLINE void group_extrema(CodeTag d, const Src& src, size_t first, CodeVec& lo, CodeVec& hi) {
  if constexpr (kLevel == 0) {
    const size_t lanes = hn::Lanes(d);
    const size_t m = first < src.rows ? first : src.rows - 1;  // a short group repeats its last row
    lo = src.chunk(m, 0);
    hi = lo;
    for (size_t c = 1; c * lanes < kFs4Ksub; ++c) {
      const CodeVec v = src.chunk(m, c);
      lo = hn::Min(lo, v);
      hi = hn::Max(hi, v);
    }
#if HWY_HAVE_SCALABLE || HWY_TARGET == HWY_SCALAR
    lo = hn::MinOfLanes(d, lo);
    hi = hn::MaxOfLanes(d, hi);
#endif
  } else {
#if !(HWY_HAVE_SCALABLE || HWY_TARGET == HWY_SCALAR)
    CodeVec lo0, hi0, lo1, hi1;
    group_extrema<kLevel - 1>(d, src, first, lo0, hi0);
    group_extrema<kLevel - 1>(d, src, first + (size_t{1} << (kLevel - 1)), lo1, hi1);
    lo = hn::Min(hn::ConcatEven(d, lo1, lo0), hn::ConcatOdd(d, lo1, lo0));
    hi = hn::Max(hn::ConcatEven(d, hi1, hi0), hn::ConcatOdd(d, hi1, hi0));
#endif
  }
}

// Rounds rows [m, m + 4) of `table` (16 floats each) as q = (v - min) * scale
// into the LUT. Every value lies in [0, 255] up to float rounding (min is
// the row minimum, scale <= 255 / span), so no clamp is needed: the packs
// saturate. AVX-512 packs four rows into one 64-byte store.
#if HWY_TARGET <= HWY_AVX3 && HWY_ARCH_X86
inline constexpr size_t kRoundRows = 4;

HWY_INLINE void round_rows(const float* table, size_t m, const float* mins, float scale,
                           uint8_t* lut) {
  const __m512 s = _mm512_set1_ps(scale);
  const float* row = table + m * kFs4Ksub;
  // Round to nearest (the default MXCSR mode), as NearestInt does.
  const __m512i q0 = _mm512_cvtps_epi32(
      _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(row), _mm512_set1_ps(mins[0])), s));
  const __m512i q1 = _mm512_cvtps_epi32(
      _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(row + 16), _mm512_set1_ps(mins[1])), s));
  const __m512i q2 = _mm512_cvtps_epi32(
      _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(row + 32), _mm512_set1_ps(mins[2])), s));
  const __m512i q3 = _mm512_cvtps_epi32(
      _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(row + 48), _mm512_set1_ps(mins[3])), s));
  // Packs work per 128-bit block: block b then holds entries 4b..4b+3 of
  // rows 0, 1, 2, 3 in its four dwords; the permutation puts each row's 16
  // bytes together.
  const __m512i bytes = _mm512_packus_epi16(_mm512_packs_epi32(q0, q1), _mm512_packs_epi32(q2, q3));
  const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  _mm512_storeu_si512(lut + m * 16, _mm512_permutexvar_epi32(order, bytes));
}
#else
inline constexpr size_t kRoundRows = 1;

HWY_INLINE void round_rows(const float* table, size_t m, const float* mins, float scale,
                           uint8_t* lut) {
  const CodeTag d;
  const size_t lanes = hn::Lanes(d);
  const hn::Rebind<int32_t, CodeTag> di;
  const hn::Rebind<uint8_t, CodeTag> du8;
  const CodeVec min_v = hn::Set(d, mins[0]), scale_v = hn::Set(d, scale);
  for (size_t j = 0; j < kFs4Ksub; j += lanes) {
    const auto q =
        hn::NearestInt(hn::Mul(hn::Sub(hn::LoadU(d, table + m * kFs4Ksub + j), min_v), scale_v));
    // DemoteTo saturates; the clamp below 0 is for the emulated targets.
    hn::StoreU(hn::DemoteTo(du8, hn::Max(q, hn::Zero(di))), du8, lut + m * 16 + j);
  }
}
#endif

template <class Src>
HWY_INLINE void quantize_rows(const Src& src, size_t m_pad, uint8_t* lut, float* bias_out,
                              float* scale_out) {
  const CodeTag d;
  const size_t num_sub = src.rows;
  // Pass 1: row minima and spans, summed in vectors (lane t: rows t,
  // t + kGroupRows, ...). Each row's minimum is parked in the first four
  // bytes of its own LUT row (no scratch); pass 2 reads it back before
  // overwriting that row.
  CodeVec bias_v = hn::Zero(d), span_sum_v = hn::Zero(d), span_max_v = hn::Zero(d);
  for (size_t m = 0; m < num_sub; m += kGroupRows) {
    CodeVec lo, hi;
    group_extrema<kGroupLevels>(d, src, m, lo, hi);
    const size_t count = num_sub - m < kGroupRows ? num_sub - m : kGroupRows;
    CodeVec span = hn::Sub(hi, lo);
    if (count < kGroupRows) {  // a short group repeats its last row: count it once
      const auto valid = hn::FirstN(d, count);
      lo = hn::IfThenElseZero(valid, lo);
      span = hn::IfThenElseZero(valid, span);
    }
    bias_v = hn::Add(bias_v, lo);
    span_sum_v = hn::Add(span_sum_v, span);
    span_max_v = hn::Max(span_max_v, span);
    HWY_ALIGN float mins[kGroupRows > 16 ? kGroupRows : 16];
    hn::Store(lo, d, mins);
    for (size_t t = 0; t < count; ++t) std::memcpy(lut + (m + t) * 16, &mins[t], sizeof(float));
  }
  const float bias = hn::GetLane(hn::SumOfLanes(d, bias_v));
  const float sum_span = hn::GetLane(hn::SumOfLanes(d, span_sum_v));
  const float max_span = hn::GetLane(hn::MaxOfLanes(d, span_max_v));
  float scale = 1.0f;
  if (max_span > 0.0f) {
    const float by_entry = 255.0f / max_span;
    // Rounding adds at most 1/2 per row; keep that margin below 2^16 (and
    // the float sum of spans a little below the exact one).
    const float by_sum = (65535.0f - static_cast<float>(num_sub)) / (sum_span * (1.0f + 1e-5f));
    scale = by_entry < by_sum ? by_entry : by_sum;
  }
  // Pass 2.
  size_t m = 0;
  for (; m + kRoundRows <= num_sub; m += kRoundRows) {
    float mins[kRoundRows];
    for (size_t t = 0; t < kRoundRows; ++t)
      std::memcpy(&mins[t], lut + (m + t) * 16, sizeof(float));
    round_rows(src.table, m, mins, scale, lut);
  }
  for (; m < num_sub; ++m) {
    // The last rows: round into a copy padded with repeats of row m.
    float rows[kRoundRows * kFs4Ksub], mins[kRoundRows];
    uint8_t out[kRoundRows * 16];
    std::memcpy(&mins[0], lut + m * 16, sizeof(float));
    for (size_t t = 0; t < kRoundRows; ++t) {
      std::memcpy(rows + t * kFs4Ksub, src.table + m * kFs4Ksub, kFs4Ksub * sizeof(float));
      mins[t] = mins[0];
    }
    round_rows(rows, 0, mins, scale, out);
    std::memcpy(lut + m * 16, out, 16);
  }
  std::memset(lut + num_sub * 16, 0, (m_pad - num_sub) * 16);
  *bias_out = bias;
  *scale_out = scale;
}

// Rows read from a float table.
struct TableRows {
  const float* table;
  size_t rows;
  HWY_INLINE CodeVec chunk(size_t m, size_t c) const {
    const CodeTag d;
    return hn::LoadU(d, table + m * kFs4Ksub + c * hn::Lanes(d));
  }
};

void fs4_quantize_kernel(const float* table, size_t num_sub, size_t m_pad, uint8_t* lut,
                         float* bias_out, float* scale_out) {
  quantize_rows(TableRows{table, num_sub}, m_pad, lut, bias_out, scale_out);
}

void fs4_l2_lut_kernel(const float* x, const float* center, size_t num_sub, size_t dsub,
                       const float* codebooks, size_t m_pad, float* table, uint8_t* lut,
                       float* bias_out, float* scale_out) {
  // The table goes through L1 once: computing rows inside the extrema tree
  // instead costs more in register pressure than the stores save.
  l2_table_kernel(x, center, num_sub, dsub, codebooks, kFs4Ksub, table);
  quantize_rows(TableRows{table, num_sub}, m_pad, lut, bias_out, scale_out);
}

#if HWY_TARGET == HWY_SCALAR

// One-lane target: no byte shuffles; a plain loop gives the same sums.
void fs4_scan_kernel(const uint8_t* blocks, size_t n_blocks, size_t m_pad, const uint8_t* lut,
                     uint16_t threshold, uint16_t* out, uint32_t* masks) {
  const size_t block_bytes = fs4_block_bytes(m_pad);
  for (size_t b = 0; b < n_blocks; ++b) {
    const uint8_t* block = blocks + b * block_bytes;
    uint32_t mask = 0;
    for (size_t v = 0; v < kFs4BlockVectors; ++v) {
      uint32_t sum = 0;
      for (size_t m = 0; m < m_pad; ++m) sum += lut[16 * m + fs4_get_code(block, m, v)];
      out[b * kFs4BlockVectors + v] = static_cast<uint16_t>(sum);
      if (sum <= threshold) mask |= uint32_t{1} << v;
    }
    masks[b] = mask;
  }
}

#else

using ByteTag = hn::CappedTag<uint8_t, 64>;  // one to four 128-bit blocks
using WordTag = hn::Repartition<uint16_t, ByteTag>;
using Word128 = hn::Full128<uint16_t>;

// Adds the 128-bit blocks of v together.
template <class D>
HWY_INLINE hn::Vec<Word128> fold_blocks(D d, hn::Vec<D> v) {
  if constexpr (hn::MaxLanes(d) > 8) {
    const hn::Half<D> dh;
    return fold_blocks(dh, hn::Add(hn::LowerHalf(dh, v), hn::UpperHalf(dh, v)));
  } else {
    return v;
  }
}

// Writes the 16 sums of one nibble half (vectors first..first+15) from the
// folded accumulators A (pairs packed) and B (odd bytes); returns the bits
// of the sums above `threshold`.
HWY_INLINE uint32_t store_half(hn::Vec<Word128> a, hn::Vec<Word128> b, hn::Vec<Word128> threshold,
                               uint16_t* out) {
  const Word128 d;
  const auto even = hn::Sub(a, hn::ShiftLeft<8>(b));
  const auto first = hn::InterleaveLower(d, even, b);
  const auto second = hn::InterleaveUpper(d, even, b);
  hn::StoreU(first, d, out);
  hn::StoreU(second, d, out + 8);
  uint8_t above[2];
  hn::StoreMaskBits(d, hn::Gt(first, threshold), above);
  hn::StoreMaskBits(d, hn::Gt(second, threshold), above + 1);
  return uint32_t{above[0]} | uint32_t{above[1]} << 8;
}

void fs4_scan_kernel(const uint8_t* blocks, size_t n_blocks, size_t m_pad, const uint8_t* lut,
                     uint16_t threshold, uint16_t* out, uint32_t* masks) {
  const ByteTag d8;
  const WordTag d16;
  const size_t per_register = hn::Lanes(d8) / 16;  // subquantizers per load
  const size_t block_bytes = fs4_block_bytes(m_pad);
  const auto low_nibble = hn::Set(d8, uint8_t{0x0F});
  const auto limit = hn::Set(Word128(), threshold);
  for (size_t b = 0; b < n_blocks; ++b) {
    const uint8_t* block = blocks + b * block_bytes;
    auto lo_a = hn::Zero(d16), lo_b = hn::Zero(d16), hi_a = hn::Zero(d16), hi_b = hn::Zero(d16);
    for (size_t m = 0; m < m_pad; m += per_register) {
      // The same line of the next block: a list streams in, and the
      // prefetcher would not cross the page boundaries by itself.
      if ((m & 3) == 0) hwy::Prefetch(block + block_bytes + 16 * m);
      const auto codes = hn::LoadU(d8, block + 16 * m);
      const auto table = hn::LoadU(d8, lut + 16 * m);
      const auto lo = hn::And(codes, low_nibble);
      const auto hi =
          hn::And(hn::BitCast(d8, hn::ShiftRight<4>(hn::BitCast(d16, codes))), low_nibble);
      const auto r_lo = hn::BitCast(d16, hn::TableLookupBytes(table, lo));
      const auto r_hi = hn::BitCast(d16, hn::TableLookupBytes(table, hi));
      lo_a = hn::Add(lo_a, r_lo);
      lo_b = hn::Add(lo_b, hn::ShiftRight<8>(r_lo));
      hi_a = hn::Add(hi_a, r_hi);
      hi_b = hn::Add(hi_b, hn::ShiftRight<8>(r_hi));
    }
    uint16_t* o = out + b * kFs4BlockVectors;
    const uint32_t above = store_half(fold_blocks(d16, lo_a), fold_blocks(d16, lo_b), limit, o) |
                           store_half(fold_blocks(d16, hi_a), fold_blocks(d16, hi_b), limit, o + 16)
                               << 16;
    masks[b] = ~above;
  }
}

#endif  // HWY_TARGET == HWY_SCALAR

// This target's table; built on first use, immutable afterwards.
const PqKernels* target_pq_kernels() {
  static const PqKernels kTable = {
      hwy::TargetName(HWY_TARGET), &nearest_l2_kernel, &l2_table_kernel,
      &neg_dot_table_kernel,       &assign_kernel,     &pq8_scan_kernel,
      &fs4_quantize_kernel,        &fs4_l2_lut_kernel, &fs4_scan_kernel,
  };
  return &kTable;
}

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace iqdb::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "kernels/target_tables.h"

namespace iqdb::kernels {

HWY_EXPORT(target_pq_kernels);

const PqKernels& active_pq_kernels() {
  static const PqKernels* const kActive = best_table(HWY_DISPATCH_TABLE(target_pq_kernels));
  return *kActive;
}

std::vector<const PqKernels*> runnable_pq_kernels() {
  return runnable_tables(HWY_DISPATCH_TABLE(target_pq_kernels));
}

}  // namespace iqdb::kernels
#endif  // HWY_ONCE
