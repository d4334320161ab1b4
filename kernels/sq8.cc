// SQ8 kernels of sq8.h, compiled once per Highway target.
//
// foreach_target.h re-includes this file once per target in HWY_TARGETS
// (HWY_NAMESPACE names the target); each pass builds that target's Sq8Kernels
// table. The final pass (HWY_ONCE) exports the per-target table getters and
// picks one at run time, exactly like distance.cc.
//
// Arithmetic: bytes are widened to int16, combined with the int16 query (a
// difference, or the value itself for dot) and multiplied pairwise into
// int32 lanes (ReorderWidenMulAccumulate: vpmaddwd on x86). int32 lane sums
// are flushed to an int64 total every kBlockDims dimensions, which keeps
// every lane below 2^31 for the query limits of sq8.h on every target
// (scalar included: 1024 * 1279^2 < 2^31).

#include "kernels/sq8.h"

#include <cstddef>
#include <cstdint>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <vector>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/sq8.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/cache_control.h>
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace iqdb::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using D16 = hn::ScalableTag<int16_t>;
// Dimensions left over after the full vectors go through 8-lane vectors.
using D16Tail = hn::CappedTag<int16_t, 8>;

inline constexpr size_t kBlockDims = 1024;
// How often a bounded kernel compares its partial sum with the bound. Each
// comparison costs a horizontal sum, and a row that ends past the bound
// usually passes it only late in the row, so the checks are sparse.
inline constexpr size_t kCheckDims = 512;
// Upcoming code rows are prefetched whole (up to this many bytes): unlike
// f32 rows, a code row is short enough that every line is worth asking for.
inline constexpr size_t kPrefetchBytes = 1024;
// Rows ahead of the one being summed whose prefetch is issued: a row takes
// far less time to sum than a miss to memory takes to arrive.
inline constexpr size_t kPrefetchAhead = 6;

// ---- Per-metric terms. `a` is the query (or first code row) widened to
// int16, `b` the code row widened to int16 (lanes of tag D). accumulate()
// adds the pairwise products of the term into sum0/sum1; term() is the
// scalar equivalent.
struct L2Op {
  template <class D, class V16 = hn::Vec<D>, class V32 = hn::Vec<hn::Repartition<int32_t, D>>>
  static HWY_INLINE V32 accumulate(D, V16 a, V16 b, V32 sum0, V32& sum1) {
    // b - a: `a` (the query, read as is) is then the operand x86 can take
    // from memory; the square is the same.
    const V16 diff = hn::Sub(b, a);
    return hn::ReorderWidenMulAccumulate(hn::Repartition<int32_t, D>(), diff, diff, sum0, sum1);
  }
  static HWY_INLINE int64_t term(int32_t a, int32_t b) { return int64_t{a - b} * int64_t{a - b}; }
};

struct L1Op {
  template <class D, class V16 = hn::Vec<D>, class V32 = hn::Vec<hn::Repartition<int32_t, D>>>
  static HWY_INLINE V32 accumulate(D d, V16 a, V16 b, V32 sum0, V32& sum1) {
    const V16 abs = hn::Abs(hn::Sub(b, a));  // b - a: see L2Op
    return hn::ReorderWidenMulAccumulate(hn::Repartition<int32_t, D>(), abs, hn::Set(d, int16_t{1}),
                                         sum0, sum1);
  }
  static HWY_INLINE int64_t term(int32_t a, int32_t b) { return std::abs(a - b); }
};

struct DotOp {
  template <class D, class V16 = hn::Vec<D>, class V32 = hn::Vec<hn::Repartition<int32_t, D>>>
  static HWY_INLINE V32 accumulate(D, V16 a, V16 b, V32 sum0, V32& sum1) {
    return hn::ReorderWidenMulAccumulate(hn::Repartition<int32_t, D>(), a, b, sum0, sum1);
  }
  static HWY_INLINE int64_t term(int32_t a, int32_t b) { return int64_t{a} * int64_t{b}; }
};

// ---- Loading one vector's worth (lanes of tag D) of a row as int16.
struct QueryLoad {  // int16 query codes
  template <class D>
  static HWY_INLINE hn::Vec<D> load(D d, const int16_t* p, size_t i) {
    return hn::LoadU(d, p + i);
  }
  static HWY_INLINE int32_t at(const int16_t* p, size_t i) { return p[i]; }
};
struct UnsignedLoad {  // uint8 codes
  template <class D>
  static HWY_INLINE hn::Vec<D> load(D d, const uint8_t* p, size_t i) {
    return hn::PromoteTo(d, hn::LoadU(hn::Rebind<uint8_t, D>(), p + i));
  }
  static HWY_INLINE int32_t at(const uint8_t* p, size_t i) { return p[i]; }
};
struct SignedLoad {  // int8 codes in uint8 storage
  template <class D>
  static HWY_INLINE hn::Vec<D> load(D d, const uint8_t* p, size_t i) {
    return hn::PromoteTo(
        d, hn::LoadU(hn::Rebind<int8_t, D>(), reinterpret_cast<const int8_t*>(p) + i));
  }
  static HWY_INLINE int32_t at(const uint8_t* p, size_t i) { return static_cast<int8_t>(p[i]); }
};

// sum over i of Op::term(a[i], b[i]): full vectors four at a time, then
// 8-lane vectors, then scalars. kBounded: the sum
// is checked every kCheckDims dimensions and returned early, partial, once
// it exceeds `bound` (terms are >= 0, so the full sum would too).
template <class Op, class LoadA, class LoadB, typename TA, bool kBounded = false>
HWY_INLINE int64_t row_sum(const TA* a, const uint8_t* b, size_t dim, float bound = 0.0f) {
  const D16 d16;
  const hn::Repartition<int32_t, D16> d32;
  const size_t lanes = hn::Lanes(d16);
  constexpr size_t kBlock = kBounded ? kCheckDims : kBlockDims;
  int64_t total = 0;
  size_t i = 0;
  while (i + lanes <= dim) {
    if (kBounded && static_cast<float>(total) > bound) return total;
    const size_t block_end = dim - i < kBlock ? dim : i + kBlock;
    // Four products per step are summed into one accumulator: on x86 the
    // only loop-carried dependency is then one add, and the compiler keeps
    // the accumulator in place (four of them cost a register copy each).
    // Targets that also use the second accumulator keep four of those.
    const auto zero = hn::Zero(d32);
    auto s0 = zero, s1 = zero, t1 = zero, u1 = zero, w1 = zero;
    for (; i + 4 * lanes <= block_end; i += 4 * lanes) {
      const auto p0 = Op::accumulate(d16, LoadA::load(d16, a, i), LoadB::load(d16, b, i), zero, s1);
      const auto p1 = Op::accumulate(d16, LoadA::load(d16, a, i + lanes),
                                     LoadB::load(d16, b, i + lanes), zero, t1);
      const auto p2 = Op::accumulate(d16, LoadA::load(d16, a, i + 2 * lanes),
                                     LoadB::load(d16, b, i + 2 * lanes), zero, u1);
      const auto p3 = Op::accumulate(d16, LoadA::load(d16, a, i + 3 * lanes),
                                     LoadB::load(d16, b, i + 3 * lanes), zero, w1);
      s0 = hn::Add(s0, hn::Add(hn::Add(p0, p1), hn::Add(p2, p3)));
    }
    for (; i + lanes <= block_end; i += lanes) {
      s0 = Op::accumulate(d16, LoadA::load(d16, a, i), LoadB::load(d16, b, i), s0, s1);
    }
    const auto sum = hn::RearrangeToOddPlusEven(s0, hn::Add(hn::Add(s1, t1), hn::Add(u1, w1)));
    total += hn::GetLane(hn::SumOfLanes(d32, sum));
  }
  // Fewer than `lanes` remain (< 1024, so one int32 block suffices).
  const D16Tail dt;
  const hn::Repartition<int32_t, D16Tail> dt32;
  const size_t tail_lanes = hn::Lanes(dt);
  if (i + tail_lanes <= dim) {
    auto s0 = hn::Zero(dt32), s1 = hn::Zero(dt32);
    for (; i + tail_lanes <= dim; i += tail_lanes) {
      s0 = Op::accumulate(dt, LoadA::load(dt, a, i), LoadB::load(dt, b, i), s0, s1);
    }
    total += hn::GetLane(hn::SumOfLanes(dt32, hn::RearrangeToOddPlusEven(s0, s1)));
  }
  for (; i < dim; ++i) total += Op::term(LoadA::at(a, i), LoadB::at(b, i));
  return total;
}

// Every line of the row's first `dim` bytes (up to kPrefetchBytes), four
// per step: a prefetch is one instruction, its loop's count and test would
// be three more.
HWY_INLINE void prefetch_codes(const uint8_t* row, size_t dim) {
  const size_t bytes = dim < kPrefetchBytes ? dim : kPrefetchBytes;
  size_t offset = 0;
  for (; offset + 4 * 64 <= bytes; offset += 4 * 64) {
    hwy::Prefetch(row + offset);
    hwy::Prefetch(row + offset + 64);
    hwy::Prefetch(row + offset + 2 * 64);
    hwy::Prefetch(row + offset + 3 * 64);
  }
  for (; offset < bytes; offset += 64) hwy::Prefetch(row + offset);
}

// ---- The functions stored in the Sq8Kernels table.
template <class Op, class CodeLoad>
float query_kernel(const int16_t* q, const uint8_t* codes, size_t dim) {
  return static_cast<float>(row_sum<Op, QueryLoad, CodeLoad>(q, codes, dim));
}

template <class Op, class CodeLoad>
float codes_kernel(const uint8_t* a, const uint8_t* b, size_t dim) {
  return static_cast<float>(row_sum<Op, CodeLoad, CodeLoad>(a, b, dim));
}

template <class Op, class CodeLoad>
void gather_kernel(const int16_t* q, const uint8_t* base, size_t stride_bytes,
                   const uint32_t* slots, size_t n, size_t dim, float* out) {
  for (size_t i = 0; i < n && i < kPrefetchAhead; ++i) {
    prefetch_codes(base + size_t{slots[i]} * stride_bytes, dim);
  }
  for (size_t i = 0; i < n; ++i) {
    if (i + kPrefetchAhead < n) {
      prefetch_codes(base + size_t{slots[i + kPrefetchAhead]} * stride_bytes, dim);
    }
    out[i] = static_cast<float>(
        row_sum<Op, QueryLoad, CodeLoad>(q, base + size_t{slots[i]} * stride_bytes, dim));
  }
}

HWY_INLINE void scalar_quantize(float q, float offset, float inv_scale, float lo, float hi,
                                int16_t* out, float* sq, float* ab) {
  const float v = (q - offset) * inv_scale;
  const float c = v == v ? (v < lo ? lo : (v > hi ? hi : v)) : lo;
  const float r = std::floor(c + 0.5f);
  *out = static_cast<int16_t>(r);
  const float e = std::isfinite(v) ? v - r : std::numeric_limits<float>::infinity();
  *sq += e * e;
  *ab += std::fabs(e);
}

void quantize_kernel(const float* q, const float* offset, float inv_scale, size_t dim, int16_t lo,
                     int16_t hi, int16_t* out, float* err) {
  const hn::ScalableTag<float> df;
  const hn::Rebind<int32_t, decltype(df)> di;
  const hn::Rebind<int16_t, decltype(df)> d16;
  const size_t lanes = hn::Lanes(df);
  const auto inv = hn::Set(df, inv_scale);
  const auto vlo = hn::Set(df, static_cast<float>(lo));
  const auto vhi = hn::Set(df, static_cast<float>(hi));
  const auto half = hn::Set(df, 0.5f);
  const auto inf = hn::Set(df, std::numeric_limits<float>::infinity());
  auto sq = hn::Zero(df), ab = hn::Zero(df);
  size_t i = 0;
  for (; i + lanes <= dim; i += lanes) {
    auto x = hn::LoadU(df, q + i);
    if (offset != nullptr) x = hn::Sub(x, hn::LoadU(df, offset + i));
    const auto v = hn::Mul(x, inv);
    const auto nan = hn::IsNaN(v);
    const auto c = hn::Min(hn::Max(hn::IfThenElse(nan, vlo, v), vlo), vhi);
    const auto r = hn::Floor(hn::Add(c, half));
    hn::StoreU(hn::DemoteTo(d16, hn::ConvertTo(di, r)), d16, out + i);
    // An infinite v leaves v - r infinite (r is clamped): only NaN needs
    // replacing to give the scalar path's infinite error.
    const auto e = hn::IfThenElse(nan, inf, hn::Sub(v, r));
    sq = hn::MulAdd(e, e, sq);
    ab = hn::Add(ab, hn::Abs(e));
  }
  float s = hn::GetLane(hn::SumOfLanes(df, sq));
  float a = hn::GetLane(hn::SumOfLanes(df, ab));
  for (; i < dim; ++i) {
    scalar_quantize(q[i], offset != nullptr ? offset[i] : 0.0f, inv_scale, lo, hi, out + i, &s, &a);
  }
  err[0] = s;
  err[1] = a;
}

template <class Op>
void gather_bounded_kernel(const int16_t* q, const uint8_t* base, size_t stride_bytes,
                           const uint32_t* slots, size_t n, size_t dim, float bound, float* out) {
  for (size_t i = 0; i < n && i < kPrefetchAhead; ++i) {
    prefetch_codes(base + size_t{slots[i]} * stride_bytes, dim);
  }
  for (size_t i = 0; i < n; ++i) {
    if (i + kPrefetchAhead < n) {
      prefetch_codes(base + size_t{slots[i + kPrefetchAhead]} * stride_bytes, dim);
    }
    out[i] = static_cast<float>(row_sum<Op, QueryLoad, UnsignedLoad, int16_t, true>(
        q, base + size_t{slots[i]} * stride_bytes, dim, bound));
  }
}

// This target's table; built on first use, immutable afterwards.
const Sq8Kernels* target_sq8_kernels() {
  static const Sq8Kernels kTable = {
      hwy::TargetName(HWY_TARGET),
      &query_kernel<L2Op, UnsignedLoad>,
      &query_kernel<L1Op, UnsignedLoad>,
      &codes_kernel<L2Op, UnsignedLoad>,
      &codes_kernel<L1Op, UnsignedLoad>,
      &gather_kernel<L2Op, UnsignedLoad>,
      &gather_kernel<L1Op, UnsignedLoad>,
      &query_kernel<DotOp, SignedLoad>,
      &codes_kernel<DotOp, SignedLoad>,
      &gather_kernel<DotOp, SignedLoad>,
      &quantize_kernel,
      &gather_bounded_kernel<L2Op>,
      &gather_bounded_kernel<L1Op>,
  };
  return &kTable;
}

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace iqdb::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "kernels/target_tables.h"

IQDB_KERNELS_EXPORT_TABLES(Sq8Kernels, target_sq8_kernels, active_sq8_kernels, runnable_sq8_kernels)
#endif  // HWY_ONCE
