// Per-target bodies of the u8 x u8 kernels of typed.h (exact integer
// sums), compiled once per Highway target by typed.cc through
// foreach_target.h.
//
// Byte differences stay in bytes (|a - b| as the OR of the two saturated
// differences); values are widened to 16 bits in registers by interleaving
// with zero, an in-lane shuffle that reorders elements, harmless for a sum
// of products of lanes that move together. Squares and products go through
// pairwise multiply-adds into int32 lanes (ReorderWidenMulAccumulate:
// vpmaddwd on x86), L1 and Hamming through byte sums (SumsOf8: vpsadbw).
// int32 lanes are flushed into an int64 total every kFlushDims elements: a
// lane gains at most 2 * 255^2 per vector step and takes at most
// kFlushDims / 16 steps per flush (any lane count), so it stays below 2^31.
// The scalar target widens one byte at a time instead.

// Toggled include guard: this file is compiled once per target.
#if defined(IQDB_KERNELS_TYPED_INT_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef IQDB_KERNELS_TYPED_INT_INL_H_
#undef IQDB_KERNELS_TYPED_INT_INL_H_
#else
#define IQDB_KERNELS_TYPED_INT_INL_H_
#endif

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include <hwy/highway.h>

#include "kernels/typed.h"

HWY_BEFORE_NAMESPACE();
namespace iqdb::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using D16 = hn::ScalableTag<int16_t>;
using D32 = hn::Repartition<int32_t, D16>;
using DU8H = hn::Rebind<uint8_t, D16>;  // one byte per int16 lane
using V16 = hn::Vec<D16>;
using V32 = hn::Vec<D32>;

inline constexpr size_t kFlushDims = 4096;

// Per-metric terms on int16 lanes (the scalar target's path) and on single
// bytes (every target's last few elements).
struct IntL2 {
  static HWY_INLINE V32 accumulate(D32 d32, V16 a, V16 b, V32 sum0, V32& sum1) {
    const V16 diff = hn::Sub(a, b);
    return hn::ReorderWidenMulAccumulate(d32, diff, diff, sum0, sum1);
  }
  static HWY_INLINE int64_t term(int32_t a, int32_t b) { return int64_t{a - b} * (a - b); }
};
struct IntDot {
  static HWY_INLINE V32 accumulate(D32 d32, V16 a, V16 b, V32 sum0, V32& sum1) {
    return hn::ReorderWidenMulAccumulate(d32, a, b, sum0, sum1);
  }
  static HWY_INLINE int64_t term(int32_t a, int32_t b) { return int64_t{a} * b; }
};
struct IntL1 {
  static HWY_INLINE V32 accumulate(D32 d32, V16 a, V16 b, V32 sum0, V32& sum1) {
    return hn::ReorderWidenMulAccumulate(d32, hn::Abs(hn::Sub(a, b)), hn::Set(D16(), int16_t{1}),
                                         sum0, sum1);
  }
  static HWY_INLINE int64_t term(int32_t a, int32_t b) { return std::abs(a - b); }
};
struct IntHamming {
  static HWY_INLINE V32 accumulate(D32 d32, V16 a, V16 b, V32 sum0, V32& sum1) {
    const V16 differs = hn::IfThenZeroElse(hn::Eq(a, b), hn::Set(D16(), int16_t{1}));
    return hn::ReorderWidenMulAccumulate(d32, differs, hn::Set(D16(), int16_t{1}), sum0, sum1);
  }
  static HWY_INLINE int64_t term(int32_t a, int32_t b) { return a != b ? 1 : 0; }
};

HWY_INLINE V16 load_u8_as_i16(const uint8_t* p, size_t i) {
  return hn::PromoteTo(D16(), hn::LoadU(DU8H(), p + i));
}

#if HWY_TARGET == HWY_SCALAR
// One byte per step: widen to int16 and accumulate (no byte shuffles to
// gain from with one lane).
template <class Op>
HWY_INLINE float int_row(const TypedQuery& q, const uint8_t* row, size_t dim) {
  const D16 d16;
  const D32 d32;
  const size_t lanes = hn::Lanes(d16);
  int64_t total = 0;
  size_t i = 0;
  while (i + lanes <= dim) {
    const size_t block_end = dim - i < kFlushDims ? dim : i + kFlushDims;
    V32 s0 = hn::Zero(d32), s1 = hn::Zero(d32);
    for (; i + lanes <= block_end; i += lanes) {
      s0 = Op::accumulate(d32, load_u8_as_i16(q.bytes, i), load_u8_as_i16(row, i), s0, s1);
    }
    total += hn::GetLane(hn::SumOfLanes(d32, hn::Add(s0, s1)));
  }
  return static_cast<float>(total);
}
#else
// Whole vectors of bytes (see the file comment).
//
// Each metric is a set of static functions over four accumulator vectors of
// DAcc that the caller holds as locals: SVE vectors are sizeless and may not
// be struct members. A metric that needs fewer leaves the rest at zero, and
// the compiler drops them.

template <class D8>
struct ByteL2 {
  using D16 = hn::RepartitionToWide<D8>;
  using DI16 = hn::RebindToSigned<D16>;
  using DAcc = hn::Repartition<int32_t, D8>;
  using VAcc = hn::Vec<DAcc>;
  // s0, s1: low halves of the bytes; s2, s3: high halves.
  static HWY_INLINE void add(D8 d8, hn::Vec<D8> a, hn::Vec<D8> b, VAcc& s0, VAcc& s1, VAcc& s2,
                             VAcc& s3) {
    const auto diff = hn::Or(hn::SaturatedSub(a, b), hn::SaturatedSub(b, a));
    const auto lo = hn::BitCast(DI16(), hn::ZipLower(D16(), diff, hn::Zero(d8)));
    const auto hi = hn::BitCast(DI16(), hn::ZipUpper(D16(), diff, hn::Zero(d8)));
    s0 = hn::ReorderWidenMulAccumulate(DAcc(), lo, lo, s0, s1);
    s2 = hn::ReorderWidenMulAccumulate(DAcc(), hi, hi, s2, s3);
  }
  static HWY_INLINE int64_t sum(VAcc s0, VAcc s1, VAcc s2, VAcc s3) {
    return hn::GetLane(hn::SumOfLanes(DAcc(), hn::Add(hn::Add(s0, s1), hn::Add(s2, s3))));
  }
};

template <class D8>
struct ByteDot {
  using D16 = hn::RepartitionToWide<D8>;
  using DI16 = hn::RebindToSigned<D16>;
  using DAcc = hn::Repartition<int32_t, D8>;
  using VAcc = hn::Vec<DAcc>;
  // s0, s1: low halves of the bytes; s2, s3: high halves.
  static HWY_INLINE void add(D8 d8, hn::Vec<D8> a, hn::Vec<D8> b, VAcc& s0, VAcc& s1, VAcc& s2,
                             VAcc& s3) {
    const auto zero = hn::Zero(d8);
    const auto a_lo = hn::BitCast(DI16(), hn::ZipLower(D16(), a, zero));
    const auto b_lo = hn::BitCast(DI16(), hn::ZipLower(D16(), b, zero));
    const auto a_hi = hn::BitCast(DI16(), hn::ZipUpper(D16(), a, zero));
    const auto b_hi = hn::BitCast(DI16(), hn::ZipUpper(D16(), b, zero));
    s0 = hn::ReorderWidenMulAccumulate(DAcc(), a_lo, b_lo, s0, s1);
    s2 = hn::ReorderWidenMulAccumulate(DAcc(), a_hi, b_hi, s2, s3);
  }
  static HWY_INLINE int64_t sum(VAcc s0, VAcc s1, VAcc s2, VAcc s3) {
    return hn::GetLane(hn::SumOfLanes(DAcc(), hn::Add(hn::Add(s0, s1), hn::Add(s2, s3))));
  }
};

template <class D8>
struct ByteL1 {
  using DAcc = hn::Repartition<uint64_t, D8>;
  using VAcc = hn::Vec<DAcc>;
  // Only s0 is used.
  static HWY_INLINE void add(D8, hn::Vec<D8> a, hn::Vec<D8> b, VAcc& s0, VAcc&, VAcc&, VAcc&) {
    s0 = hn::Add(s0, hn::SumsOf8(hn::Or(hn::SaturatedSub(a, b), hn::SaturatedSub(b, a))));
  }
  static HWY_INLINE int64_t sum(VAcc s0, VAcc, VAcc, VAcc) {
    return static_cast<int64_t>(hn::GetLane(hn::SumOfLanes(DAcc(), s0)));
  }
};

template <class D8>
struct ByteHamming {
  using DAcc = hn::Repartition<uint64_t, D8>;
  using VAcc = hn::Vec<DAcc>;
  // Only s0 is used.
  static HWY_INLINE void add(D8 d8, hn::Vec<D8> a, hn::Vec<D8> b, VAcc& s0, VAcc&, VAcc&, VAcc&) {
    s0 = hn::Add(s0, hn::SumsOf8(hn::IfThenZeroElse(hn::Eq(a, b), hn::Set(d8, uint8_t{1}))));
  }
  static HWY_INLINE int64_t sum(VAcc s0, VAcc, VAcc, VAcc) {
    return static_cast<int64_t>(hn::GetLane(hn::SumOfLanes(DAcc(), s0)));
  }
};

// x86 AVX-512 masked byte loads and SVE predicated loads suppress faults on
// the masked-off bytes, so the last partial vector is one masked load (zeros
// add nothing to any of these sums: |0 - 0| = 0 * 0 = 0, and equal bytes
// count nothing).
inline constexpr bool kFaultFreeByteMaskedLoad =
    (HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3) || HWY_TARGET == HWY_SVE || HWY_TARGET == HWY_SVE2 ||
    HWY_TARGET == HWY_SVE_256 || HWY_TARGET == HWY_SVE2_128;

// The elements [i, dim) that fill whole vectors of D8 (and, where masked
// loads are fault-free, the partial one), two accumulator sets alternating;
// int32 sums are flushed into the total every kFlushDims.
template <template <class> class Acc, class D8>
HWY_INLINE int64_t byte_segment(D8 d8, const uint8_t* a, const uint8_t* b, size_t& i, size_t dim) {
  using A = Acc<D8>;
  using VAcc = typename A::VAcc;
  const typename A::DAcc dacc;
  const size_t lanes = hn::Lanes(d8);
  int64_t total = 0;
  while (i + lanes <= dim) {
    const size_t end = dim - i < kFlushDims ? dim : i + kFlushDims;
    // Two accumulator sets (x, y) for alternate vectors.
    VAcc x0 = hn::Zero(dacc), x1 = x0, x2 = x0, x3 = x0;
    VAcc y0 = x0, y1 = x0, y2 = x0, y3 = x0;
    for (; i + 2 * lanes <= end; i += 2 * lanes) {
      A::add(d8, hn::LoadU(d8, a + i), hn::LoadU(d8, b + i), x0, x1, x2, x3);
      A::add(d8, hn::LoadU(d8, a + i + lanes), hn::LoadU(d8, b + i + lanes), y0, y1, y2, y3);
    }
    if (i + lanes <= end) {
      A::add(d8, hn::LoadU(d8, a + i), hn::LoadU(d8, b + i), x0, x1, x2, x3);
      i += lanes;
    }
    if constexpr (kFaultFreeByteMaskedLoad) {
      if (i == dim - dim % lanes && i < dim && end == dim) {
        const auto keep = hn::FirstN(d8, dim - i);
        A::add(d8, hn::MaskedLoad(keep, d8, a + i), hn::MaskedLoad(keep, d8, b + i), y0, y1, y2,
               y3);
        i = dim;
      }
    }
    total += A::sum(x0, x1, x2, x3) + A::sum(y0, y1, y2, y3);
  }
  if constexpr (kFaultFreeByteMaskedLoad) {
    if (i < dim) {  // dim < lanes: the whole row is one partial vector
      VAcc x0 = hn::Zero(dacc), x1 = x0, x2 = x0, x3 = x0;
      const auto keep = hn::FirstN(d8, dim - i);
      A::add(d8, hn::MaskedLoad(keep, d8, a + i), hn::MaskedLoad(keep, d8, b + i), x0, x1, x2, x3);
      i = dim;
      total += A::sum(x0, x1, x2, x3);
    }
  }
  return total;
}

template <class Op>
struct ByteAcc;
template <>
struct ByteAcc<IntL2> {
  template <class D8>
  using Acc = ByteL2<D8>;
};
template <>
struct ByteAcc<IntDot> {
  template <class D8>
  using Acc = ByteDot<D8>;
};
template <>
struct ByteAcc<IntL1> {
  template <class D8>
  using Acc = ByteL1<D8>;
};
template <>
struct ByteAcc<IntHamming> {
  template <class D8>
  using Acc = ByteHamming<D8>;
};

// Full vectors (and a masked partial one where that is fault-free), else
// 16-byte vectors for what is left (784 = 12 * 64 + 16), then single bytes.
template <class Op>
HWY_INLINE float int_row(const TypedQuery& q, const uint8_t* row, size_t dim) {
  size_t i = 0;
  int64_t total =
      byte_segment<ByteAcc<Op>::template Acc>(hn::ScalableTag<uint8_t>(), q.bytes, row, i, dim);
  if (i < dim) {
    total +=
        byte_segment<ByteAcc<Op>::template Acc>(hn::CappedTag<uint8_t, 16>(), q.bytes, row, i, dim);
  }
  for (; i < dim; ++i) total += Op::term(q.bytes[i], row[i]);
  return static_cast<float>(total);
}
#endif  // HWY_TARGET == HWY_SCALAR

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace iqdb::kernels
HWY_AFTER_NAMESPACE();

#endif  // IQDB_KERNELS_TYPED_INT_INL_H_
