// Per-target bodies of the 8-bit PQ kernels of pq.h: distance tables
// against transposed codebooks (l2_table, neg_dot_table), encoding by the
// nearest codeword (assign) and the 8-bit asymmetric scan (pq8_scan). pq.cc
// compiles this file once per Highway target through foreach_target.h;
// fs4-inl.h builds its 4-bit tables on the same codebook helpers.

// Toggled include guard: this file is compiled once per target.
#if defined(IQDB_KERNELS_PQ8_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef IQDB_KERNELS_PQ8_INL_H_
#undef IQDB_KERNELS_PQ8_INL_H_
#else
#define IQDB_KERNELS_PQ8_INL_H_
#endif

#include <cstddef>
#include <cstdint>
#include <limits>

#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace iqdb::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

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

inline void l2_table_kernel(const float* x, const float* center, size_t num_sub, size_t dsub,
                            const float* codebooks, size_t ksub, float* out) {
  switch (dsub) {
    case 1: return l2_table_impl<1>(x, center, num_sub, dsub, codebooks, ksub, out);
    case 2: return l2_table_impl<2>(x, center, num_sub, dsub, codebooks, ksub, out);
    case 4: return l2_table_impl<4>(x, center, num_sub, dsub, codebooks, ksub, out);
    default: return l2_table_impl<0>(x, center, num_sub, dsub, codebooks, ksub, out);
  }
}

inline void neg_dot_table_kernel(const float* x, size_t num_sub, size_t dsub,
                                 const float* codebooks, size_t ksub, float* out) {
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

inline void assign_kernel(const float* x, size_t x_stride, size_t n, size_t dsub,
                          const float* codebook, size_t codebook_stride, size_t ksub,
                          uint32_t* labels, float* dists) {
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

inline void pq8_scan_kernel(const uint8_t* codes, size_t n, size_t num_sub, const float* table,
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

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace iqdb::kernels
HWY_AFTER_NAMESPACE();

#endif  // IQDB_KERNELS_PQ8_INL_H_
