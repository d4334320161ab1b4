// Per-target bodies of the f32 distance kernels; the contract is in
// distance.h. distance.cc compiles this file once per Highway target through
// foreach_target.h. A later per-target kernel (k-means assignment, PQ rerank)
// may include it the same way to call these loops inline instead of through
// the function-pointer table.
//
// Reading: a row is never read outside [row, row + dim), so a row may end at
// the last byte of a mapping. The last dim % N floats are covered by one
// "tail" vector:
//   - x86 AVX2 and AVX-512 masked loads and SVE predicated loads never touch
//     the memory of masked-off lanes, so the tail is a masked load of the
//     remaining lanes (any dim >= 1 stays vectorised);
//   - on other targets Highway's MaskedLoad reads the whole vector, so the
//     tail is instead the full vector that ends at row + dim, with the lanes
//     the main loop already counted zeroed. That needs dim >= N; shorter rows
//     take a scalar loop.
// SVE vectors and masks are sizeless: they may be locals and parameters but
// not struct members or array elements. So the tail is described by counts
// (Tail) and its mask is built from them where a kernel starts (tail_mask)
// and passed down as a parameter.
// Zeroed lanes contribute nothing to any metric here (0 - 0, 0 * 0, and
// 0 == 0 for Hamming), so the tail needs no per-metric masking.
//
// Summation order differs from a sequential loop (several accumulators, lane
// sums), so results differ from a scalar loop by rounding only.

// Toggled include guard: this file is compiled once per target.
#if defined(IQDB_KERNELS_DISTANCE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef IQDB_KERNELS_DISTANCE_INL_H_
#undef IQDB_KERNELS_DISTANCE_INL_H_
#else
#define IQDB_KERNELS_DISTANCE_INL_H_
#endif

#include <cmath>
#include <cstddef>
#include <cstdint>

#include <hwy/cache_control.h>
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace iqdb::kernels {
namespace HWY_NAMESPACE {

namespace hn = hwy::HWY_NAMESPACE;

using FloatTag = hn::ScalableTag<float>;
using FloatVec = hn::Vec<FloatTag>;
using FloatMask = hn::Mask<FloatTag>;

// True where hn::MaskedLoad never touches the masked-off lanes' memory.
inline constexpr bool kFaultFreeMaskedLoad =
    (HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX2) || HWY_TARGET == HWY_SVE || HWY_TARGET == HWY_SVE2 ||
    HWY_TARGET == HWY_SVE_256 || HWY_TARGET == HWY_SVE2_128;

// Bytes of each upcoming row to prefetch. The hardware streamer follows a row
// once it is being read sequentially; the first lines are the ones that stall.
inline constexpr size_t kPrefetchBytes = 256;

// ---- Per-metric terms. accumulate() adds the term of every lane to acc;
// term() is the same for one float, for the scalar fallback.

struct L2SquaredOp {
  static constexpr bool kUnary = false;
  static HWY_INLINE FloatVec accumulate(FloatTag, FloatVec a, FloatVec b, FloatVec acc) {
    const FloatVec diff = hn::Sub(a, b);
    return hn::MulAdd(diff, diff, acc);
  }
  static HWY_INLINE float term(float a, float b) {
    const float diff = a - b;
    return diff * diff;
  }
};

struct DotOp {
  static constexpr bool kUnary = false;
  static HWY_INLINE FloatVec accumulate(FloatTag, FloatVec a, FloatVec b, FloatVec acc) {
    return hn::MulAdd(a, b, acc);
  }
  static HWY_INLINE float term(float a, float b) { return a * b; }
};

struct L1Op {
  static constexpr bool kUnary = false;
  static HWY_INLINE FloatVec accumulate(FloatTag, FloatVec a, FloatVec b, FloatVec acc) {
    return hn::Add(acc, hn::Abs(hn::Sub(a, b)));
  }
  static HWY_INLINE float term(float a, float b) { return std::fabs(a - b); }
};

// IEEE comparison: -0 equals +0, NaN differs from everything including NaN.
// Counts are exact while dim < 2^24. Written as "not Eq" because Highway
// 1.0.3's Ne is ordered on AVX2/AVX-512 (NaN != NaN is false there) but
// unordered on SSE4; Eq is ordered everywhere.
struct HammingOp {
  static constexpr bool kUnary = false;
  static HWY_INLINE FloatVec accumulate(FloatTag d, FloatVec a, FloatVec b, FloatVec acc) {
    return hn::Add(acc, hn::IfThenZeroElse(hn::Eq(a, b), hn::Set(d, 1.0f)));
  }
  static HWY_INLINE float term(float a, float b) { return a != b ? 1.0f : 0.0f; }
};

// Unary: the second row is never read.
struct SquaredNormOp {
  static constexpr bool kUnary = true;
  static HWY_INLINE FloatVec accumulate(FloatTag, FloatVec a, FloatVec, FloatVec acc) {
    return hn::MulAdd(a, a, acc);
  }
  static HWY_INLINE float term(float a, float) { return a * a; }
};

// ---- Loading the last partial vector (see the file comment).

// Where the tail vector starts and how many of its lanes are new.
struct Tail {
  size_t offset;     // index of the first float the tail vector loads
  size_t remaining;  // dim % N: floats of [dim - remaining, dim) still to count
};

// Requires !needs_scalar(d, dim). When dim % N == 0 the tail is empty and
// callers skip it.
HWY_INLINE Tail make_tail(FloatTag d, size_t dim) {
  const size_t lanes = hn::Lanes(d);
  const size_t remaining = dim % lanes;
  return Tail{kFaultFreeMaskedLoad ? dim - remaining : dim - lanes, remaining};
}

// The lanes of the tail vector that hold floats of [dim - remaining, dim).
HWY_INLINE FloatMask tail_mask(FloatTag d, const Tail& tail) {
  if constexpr (kFaultFreeMaskedLoad) {
    return hn::FirstN(d, tail.remaining);
  } else {
    return hn::Not(hn::FirstN(d, hn::Lanes(d) - tail.remaining));
  }
}

// `keep` is tail_mask(d, tail).
HWY_INLINE FloatVec load_tail(FloatTag d, const Tail& tail, FloatMask keep, const float* row) {
  if constexpr (kFaultFreeMaskedLoad) {
    return hn::MaskedLoad(keep, d, row + tail.offset);
  } else {
    return hn::IfThenElseZero(keep, hn::LoadU(d, row + tail.offset));
  }
}

// Rows shorter than one vector on targets without fault-free masked loads.
HWY_INLINE bool needs_scalar(FloatTag d, size_t dim) {
  return !kFaultFreeMaskedLoad && dim < hn::Lanes(d);
}

template <class Op>
HWY_INLINE float scalar_row(const float* a, const float* b, size_t dim) {
  float sum = 0.0f;
  for (size_t i = 0; i < dim; ++i) sum += Op::term(a[i], Op::kUnary ? a[i] : b[i]);
  return sum;
}

HWY_INLINE float reduce(FloatTag d, FloatVec v) { return hn::GetLane(hn::SumOfLanes(d, v)); }

HWY_INLINE void prefetch_row(const float* row, size_t dim) {
  const size_t bytes = dim * sizeof(float) < kPrefetchBytes ? dim * sizeof(float) : kPrefetchBytes;
  const char* p = reinterpret_cast<const char*>(row);
  for (size_t offset = 0; offset < bytes; offset += 64) hwy::Prefetch(p + offset);
}

// ---- One query against one row: four accumulators hide the FMA latency.

// `keep` is tail_mask(d, tail); `q_tail` is load_tail(q) when dim % N != 0
// (else unused). Requires !needs_scalar(d, dim).
template <class Op>
HWY_INLINE float one_row(FloatTag d, const float* q, const float* r, size_t dim, const Tail& tail,
                         FloatMask keep, FloatVec q_tail) {
  const size_t lanes = hn::Lanes(d);
  FloatVec acc0 = hn::Zero(d), acc1 = hn::Zero(d), acc2 = hn::Zero(d), acc3 = hn::Zero(d);
  size_t i = 0;
  for (; i + 4 * lanes <= dim; i += 4 * lanes) {
    const FloatVec q0 = hn::LoadU(d, q + i);
    const FloatVec q1 = hn::LoadU(d, q + i + lanes);
    const FloatVec q2 = hn::LoadU(d, q + i + 2 * lanes);
    const FloatVec q3 = hn::LoadU(d, q + i + 3 * lanes);
    if constexpr (Op::kUnary) {
      acc0 = Op::accumulate(d, q0, q0, acc0);
      acc1 = Op::accumulate(d, q1, q1, acc1);
      acc2 = Op::accumulate(d, q2, q2, acc2);
      acc3 = Op::accumulate(d, q3, q3, acc3);
    } else {
      acc0 = Op::accumulate(d, q0, hn::LoadU(d, r + i), acc0);
      acc1 = Op::accumulate(d, q1, hn::LoadU(d, r + i + lanes), acc1);
      acc2 = Op::accumulate(d, q2, hn::LoadU(d, r + i + 2 * lanes), acc2);
      acc3 = Op::accumulate(d, q3, hn::LoadU(d, r + i + 3 * lanes), acc3);
    }
  }
  for (; i + lanes <= dim; i += lanes) {
    const FloatVec q0 = hn::LoadU(d, q + i);
    acc1 = Op::accumulate(d, q0, Op::kUnary ? q0 : hn::LoadU(d, r + i), acc1);
  }
  if (i != dim) {
    acc2 = Op::accumulate(d, q_tail, Op::kUnary ? q_tail : load_tail(d, tail, keep, r), acc2);
  }
  return reduce(d, hn::Add(hn::Add(acc0, acc1), hn::Add(acc2, acc3)));
}

template <class Op>
HWY_INLINE float pair_impl(const float* a, const float* b, size_t dim) {
  const FloatTag d;
  if (needs_scalar(d, dim)) return scalar_row<Op>(a, b, dim);
  const Tail tail = make_tail(d, dim);
  const FloatMask keep = tail_mask(d, tail);
  const FloatVec a_tail = tail.remaining != 0 ? load_tail(d, tail, keep, a) : hn::Zero(d);
  return one_row<Op>(d, a, b, dim, tail, keep, a_tail);
}

// ---- One query against four rows: the query loads are shared, and two
// accumulators per row give eight independent FMA chains.

template <class Op>
HWY_INLINE void four_rows(FloatTag d, const float* q, const float* r0, const float* r1,
                          const float* r2, const float* r3, size_t dim, const Tail& tail,
                          FloatMask keep, FloatVec q_tail, float* out) {
  const size_t lanes = hn::Lanes(d);
  FloatVec a0 = hn::Zero(d), a1 = hn::Zero(d), a2 = hn::Zero(d), a3 = hn::Zero(d);
  FloatVec b0 = hn::Zero(d), b1 = hn::Zero(d), b2 = hn::Zero(d), b3 = hn::Zero(d);
  size_t i = 0;
  for (; i + 2 * lanes <= dim; i += 2 * lanes) {
    const FloatVec qa = hn::LoadU(d, q + i);
    const FloatVec qb = hn::LoadU(d, q + i + lanes);
    a0 = Op::accumulate(d, qa, hn::LoadU(d, r0 + i), a0);
    a1 = Op::accumulate(d, qa, hn::LoadU(d, r1 + i), a1);
    a2 = Op::accumulate(d, qa, hn::LoadU(d, r2 + i), a2);
    a3 = Op::accumulate(d, qa, hn::LoadU(d, r3 + i), a3);
    b0 = Op::accumulate(d, qb, hn::LoadU(d, r0 + i + lanes), b0);
    b1 = Op::accumulate(d, qb, hn::LoadU(d, r1 + i + lanes), b1);
    b2 = Op::accumulate(d, qb, hn::LoadU(d, r2 + i + lanes), b2);
    b3 = Op::accumulate(d, qb, hn::LoadU(d, r3 + i + lanes), b3);
  }
  if (i + lanes <= dim) {
    const FloatVec qa = hn::LoadU(d, q + i);
    a0 = Op::accumulate(d, qa, hn::LoadU(d, r0 + i), a0);
    a1 = Op::accumulate(d, qa, hn::LoadU(d, r1 + i), a1);
    a2 = Op::accumulate(d, qa, hn::LoadU(d, r2 + i), a2);
    a3 = Op::accumulate(d, qa, hn::LoadU(d, r3 + i), a3);
    i += lanes;
  }
  if (i != dim) {
    b0 = Op::accumulate(d, q_tail, load_tail(d, tail, keep, r0), b0);
    b1 = Op::accumulate(d, q_tail, load_tail(d, tail, keep, r1), b1);
    b2 = Op::accumulate(d, q_tail, load_tail(d, tail, keep, r2), b2);
    b3 = Op::accumulate(d, q_tail, load_tail(d, tail, keep, r3), b3);
  }
  out[0] = reduce(d, hn::Add(a0, b0));
  out[1] = reduce(d, hn::Add(a1, b1));
  out[2] = reduce(d, hn::Add(a2, b2));
  out[3] = reduce(d, hn::Add(a3, b3));
}

// four_rows() for a single row, with the same arithmetic (two chains: even
// and odd vectors, the tail into the odd chain), so a row's distance does
// not depend on whether it was scored alone or in a group of four.
template <class Op>
HWY_INLINE float paired_row(FloatTag d, const float* q, const float* r, size_t dim,
                            const Tail& tail, FloatMask keep, FloatVec q_tail) {
  const size_t lanes = hn::Lanes(d);
  FloatVec a = hn::Zero(d), b = hn::Zero(d);
  size_t i = 0;
  for (; i + 2 * lanes <= dim; i += 2 * lanes) {
    a = Op::accumulate(d, hn::LoadU(d, q + i), hn::LoadU(d, r + i), a);
    b = Op::accumulate(d, hn::LoadU(d, q + i + lanes), hn::LoadU(d, r + i + lanes), b);
  }
  if (i + lanes <= dim) {
    a = Op::accumulate(d, hn::LoadU(d, q + i), hn::LoadU(d, r + i), a);
    i += lanes;
  }
  if (i != dim) b = Op::accumulate(d, q_tail, load_tail(d, tail, keep, r), b);
  return reduce(d, hn::Add(a, b));
}

// Row addressing for block and gather. Contiguous rows are read one after
// another: a single sequential stream, which the hardware prefetcher
// follows at full bandwidth (reading four rows side by side measured about
// 25% slower on rows streamed from memory). Rows at random slots are read
// four at a time, so their cache misses overlap.
struct StridedRows {
  static constexpr bool kContiguous = true;
  const float* rows;
  size_t stride_floats;
  const float* operator()(size_t i) const { return rows + i * stride_floats; }
};

struct SlotRows {
  static constexpr bool kContiguous = false;
  const float* base;
  size_t stride_floats;
  const uint32_t* slots;
  const float* operator()(size_t i) const { return base + size_t{slots[i]} * stride_floats; }
};

template <class Op, class Rows>
HWY_INLINE void many_impl(const float* q, const Rows& row, size_t n, size_t dim, float* out) {
  static_assert(!Op::kUnary, "one-to-many kernels compare two rows");
  const FloatTag d;
  if (needs_scalar(d, dim)) {
    for (size_t i = 0; i < n; ++i) out[i] = scalar_row<Op>(q, row(i), dim);
    return;
  }
  const Tail tail = make_tail(d, dim);
  const FloatMask keep = tail_mask(d, tail);
  const FloatVec q_tail = tail.remaining != 0 ? load_tail(d, tail, keep, q) : hn::Zero(d);
  size_t i = 0;
  if constexpr (Rows::kContiguous) {
    for (; i < n; ++i) out[i] = paired_row<Op>(d, q, row(i), dim, tail, keep, q_tail);
    return;
  }
  for (; i + 4 <= n; i += 4) {
    const size_t prefetch_end = i + 8 < n ? i + 8 : n;
    for (size_t j = i + 4; j < prefetch_end; ++j) prefetch_row(row(j), dim);
    four_rows<Op>(d, q, row(i), row(i + 1), row(i + 2), row(i + 3), dim, tail, keep, q_tail,
                  out + i);
  }
  for (; i < n; ++i) out[i] = paired_row<Op>(d, q, row(i), dim, tail, keep, q_tail);
}

// ---- The functions stored in the DistanceKernels table.

template <class Op>
float pair_kernel(const float* a, const float* b, size_t dim) {
  return pair_impl<Op>(a, b, dim);
}

template <class Op>
void block_kernel(const float* q, const float* rows, size_t stride_floats, size_t n, size_t dim,
                  float* out) {
  many_impl<Op>(q, StridedRows{rows, stride_floats}, n, dim, out);
}

template <class Op>
void gather_kernel(const float* q, const float* base, size_t stride_floats, const uint32_t* slots,
                   size_t n, size_t dim, float* out) {
  many_impl<Op>(q, SlotRows{base, stride_floats, slots}, n, dim, out);
}

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace iqdb::kernels
HWY_AFTER_NAMESPACE();

#endif  // IQDB_KERNELS_DISTANCE_INL_H_
