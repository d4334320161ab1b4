// Compact-row kernels of typed.h, compiled once per Highway target.
//
// foreach_target.h re-includes this file once per target in HWY_TARGETS
// (HWY_NAMESPACE names the target); each pass builds that target's
// TypedKernels table. The final pass (HWY_ONCE) exports the per-target table
// getters and picks one at run time, exactly like distance.cc.
//
// f32 query x typed row: each step loads one vector's worth of elements
// (N bytes of u8/SQ8, N halves of f16/bf16), widens them to N floats
// (u8 -> i32 -> f32; f16 through F16C where the target has it; bf16 by a
// 16-bit shift; SQ8 then offset + scale * code with one multiply-add) and
// accumulates the metric term. Two accumulators alternate; the last dim % N
// elements take a scalar loop with the scalar decoders of typed.h.
//
// u8 x u8: exact integer sums, in typed_int-inl.h.

#include "kernels/typed.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/typed.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/cache_control.h>
#include <hwy/highway.h>

#include "kernels/typed_int-inl.h"

HWY_BEFORE_NAMESPACE();
namespace iqdb::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;
using DI32 = hn::RebindToSigned<DF>;
using DU8F = hn::Rebind<uint8_t, DF>;  // one byte per float lane
using DF16 = hn::Rebind<hwy::float16_t, DF>;
using DBF16 = hn::Rebind<hwy::bfloat16_t, DF>;

// Gathered rows are prefetched this far ahead, their first bytes only: the
// hardware streamer follows a row once it is read sequentially.
inline constexpr size_t kPrefetchAhead = 4;
inline constexpr size_t kPrefetchBytes = 256;

// ---- Loading one vector of a row as floats, and one element (scalar).

struct U8Load {
  static HWY_INLINE VF load(const uint8_t* row, size_t i, const TypedQuery&) {
    return hn::ConvertTo(DF(), hn::PromoteTo(DI32(), hn::LoadU(DU8F(), row + i)));
  }
  static HWY_INLINE float at(const uint8_t* row, size_t i, const TypedQuery&) {
    return static_cast<float>(row[i]);
  }
};

struct F16Load {
  static HWY_INLINE VF load(const uint8_t* row, size_t i, const TypedQuery&) {
    return hn::PromoteTo(DF(), hn::LoadU(DF16(), reinterpret_cast<const hwy::float16_t*>(row) + i));
  }
  static HWY_INLINE float at(const uint8_t* row, size_t i, const TypedQuery&) {
    uint16_t h;
    std::memcpy(&h, row + 2 * i, 2);
    return f16_to_f32(h);
  }
};

struct BF16Load {
  static HWY_INLINE VF load(const uint8_t* row, size_t i, const TypedQuery&) {
    return hn::PromoteTo(DF(),
                         hn::LoadU(DBF16(), reinterpret_cast<const hwy::bfloat16_t*>(row) + i));
  }
  static HWY_INLINE float at(const uint8_t* row, size_t i, const TypedQuery&) {
    uint16_t h;
    std::memcpy(&h, row + 2 * i, 2);
    return bf16_to_f32(h);
  }
};

struct Sq8Load {
  static HWY_INLINE VF load(const uint8_t* row, size_t i, const TypedQuery& q) {
    const VF code = U8Load::load(row, i, q);
    return hn::MulAdd(code, hn::LoadU(DF(), q.scale + i), hn::LoadU(DF(), q.offset + i));
  }
  static HWY_INLINE float at(const uint8_t* row, size_t i, const TypedQuery& q) {
    return sq8_decode(row[i], q.offset[i], q.scale[i]);
  }
};

// ---- Metric terms on floats (as distance-inl.h).

struct L2Op {
  static HWY_INLINE VF accumulate(VF q, VF x, VF acc) {
    const VF d = hn::Sub(q, x);
    return hn::MulAdd(d, d, acc);
  }
  static HWY_INLINE float term(float q, float x) { return (q - x) * (q - x); }
};
struct DotOp {
  static HWY_INLINE VF accumulate(VF q, VF x, VF acc) { return hn::MulAdd(q, x, acc); }
  static HWY_INLINE float term(float q, float x) { return q * x; }
};
struct L1Op {
  static HWY_INLINE VF accumulate(VF q, VF x, VF acc) {
    return hn::Add(acc, hn::Abs(hn::Sub(q, x)));
  }
  static HWY_INLINE float term(float q, float x) { return std::fabs(q - x); }
};
// "Not equal" as not Eq: ordered everywhere (see HammingOp in distance-inl.h).
struct HammingOp {
  static HWY_INLINE VF accumulate(VF q, VF x, VF acc) {
    return hn::Add(acc, hn::IfThenZeroElse(hn::Eq(q, x), hn::Set(DF(), 1.0f)));
  }
  static HWY_INLINE float term(float q, float x) { return q != x ? 1.0f : 0.0f; }
};

template <class Op, class Load>
HWY_INLINE float float_row(const TypedQuery& q, const uint8_t* row, size_t dim) {
  const DF d;
  const size_t lanes = hn::Lanes(d);
  VF acc0 = hn::Zero(d), acc1 = hn::Zero(d);
  size_t i = 0;
  for (; i + 2 * lanes <= dim; i += 2 * lanes) {
    acc0 = Op::accumulate(hn::LoadU(d, q.values + i), Load::load(row, i, q), acc0);
    acc1 = Op::accumulate(hn::LoadU(d, q.values + i + lanes), Load::load(row, i + lanes, q), acc1);
  }
  if (i + lanes <= dim) {
    acc0 = Op::accumulate(hn::LoadU(d, q.values + i), Load::load(row, i, q), acc0);
    i += lanes;
  }
  float tail = 0.0f;
  for (; i < dim; ++i) tail += Op::term(q.values[i], Load::at(row, i, q));
  return hn::GetLane(hn::SumOfLanes(d, hn::Add(acc0, acc1))) + tail;
}

// ---- u8 x u8 in integers: int_row<IntL2 / IntDot / IntL1 / IntHamming> in
// typed_int-inl.h.

// ---- Many rows: each row by itself (position-independent results).

HWY_INLINE void prefetch_row(const uint8_t* row, size_t bytes) {
  const size_t n = bytes < kPrefetchBytes ? bytes : kPrefetchBytes;
  for (size_t offset = 0; offset < n; offset += 64) hwy::Prefetch(row + offset);
}

template <class RowFn>
HWY_INLINE void many_rows(const TypedQuery& q, const uint8_t* base, size_t stride_bytes,
                          const uint32_t* slots, size_t n, size_t dim, size_t elem_bytes,
                          float* out, RowFn row_fn) {
  if (slots == nullptr) {
    // Consecutive rows: the hardware prefetcher follows the stream, and
    // prefetch instructions would only compete with it for fill buffers.
    for (size_t r = 0; r < n; ++r) out[r] = row_fn(q, base + r * stride_bytes, dim);
    return;
  }
  const auto row_at = [&](size_t r) { return base + size_t{slots[r]} * stride_bytes; };
  for (size_t r = 0; r < n && r < kPrefetchAhead; ++r) prefetch_row(row_at(r), dim * elem_bytes);
  for (size_t r = 0; r < n; ++r) {
    if (r + kPrefetchAhead < n) prefetch_row(row_at(r + kPrefetchAhead), dim * elem_bytes);
    out[r] = row_fn(q, row_at(r), dim);
  }
}

template <class Op, class Load, size_t kElemBytes>
void float_rows(const TypedQuery& q, const uint8_t* base, size_t stride_bytes,
                const uint32_t* slots, size_t n, size_t dim, float* out) {
  many_rows(q, base, stride_bytes, slots, n, dim, kElemBytes, out,
            [](const TypedQuery& tq, const uint8_t* row, size_t d) {
              return float_row<Op, Load>(tq, row, d);
            });
}

template <class Op>
void int_rows(const TypedQuery& q, const uint8_t* base, size_t stride_bytes, const uint32_t* slots,
              size_t n, size_t dim, float* out) {
  many_rows(
      q, base, stride_bytes, slots, n, dim, 1, out,
      [](const TypedQuery& tq, const uint8_t* row, size_t d) { return int_row<Op>(tq, row, d); });
}

template <class Load>
void decode_row(const uint8_t* row, size_t dim, const float* offset, const float* scale,
                float* out) {
  const DF d;
  const size_t lanes = hn::Lanes(d);
  const TypedQuery q{nullptr, nullptr, offset, scale};
  size_t i = 0;
  for (; i + lanes <= dim; i += lanes) hn::StoreU(Load::load(row, i, q), d, out + i);
  for (; i < dim; ++i) out[i] = Load::at(row, i, q);
}

// This target's table; built on first use, immutable afterwards.
const TypedKernels* target_typed_kernels() {
  static const TypedKernels kTable = {
      hwy::TargetName(HWY_TARGET),
      {
          {&float_rows<L2Op, U8Load, 1>, &float_rows<DotOp, U8Load, 1>,
           &float_rows<L1Op, U8Load, 1>, &float_rows<HammingOp, U8Load, 1>},
          {&float_rows<L2Op, F16Load, 2>, &float_rows<DotOp, F16Load, 2>,
           &float_rows<L1Op, F16Load, 2>, &float_rows<HammingOp, F16Load, 2>},
          {&float_rows<L2Op, BF16Load, 2>, &float_rows<DotOp, BF16Load, 2>,
           &float_rows<L1Op, BF16Load, 2>, &float_rows<HammingOp, BF16Load, 2>},
          {&float_rows<L2Op, Sq8Load, 1>, &float_rows<DotOp, Sq8Load, 1>,
           &float_rows<L1Op, Sq8Load, 1>, &float_rows<HammingOp, Sq8Load, 1>},
      },
      {&int_rows<IntL2>, &int_rows<IntDot>, &int_rows<IntL1>, &int_rows<IntHamming>},
      {&decode_row<U8Load>, &decode_row<F16Load>, &decode_row<BF16Load>, &decode_row<Sq8Load>},
  };
  return &kTable;
}

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace iqdb::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "kernels/target_tables.h"

IQDB_KERNELS_EXPORT_TABLES(TypedKernels, target_typed_kernels, active_typed_kernels,
                           runnable_typed_kernels)
#endif  // HWY_ONCE
