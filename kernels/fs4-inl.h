// Per-target bodies of the 4-bit fast-scan kernels of pq.h: quantising a
// float table into the uint8 LUT (fs4_quantize_lut, fs4_l2_lut) and the
// scan (fs4_scan). pq.cc compiles this file once per Highway target through
// foreach_target.h.
//
// Scan arithmetic. Per 128-bit block of a register, one byte shuffle
// (TableLookupBytes, pshufb on x86) looks up 16 vectors of one
// subquantizer; the low nibbles give vectors 0..15 of the block of 32, the
// high nibbles vectors 16..31. The uint8 results are summed in uint16 lanes
// without widening: viewing the 16 result bytes as 8 uint16 lanes, lane t
// is r[2t] + 256 r[2t+1]. Adding that to accumulator A and (lane >> 8) =
// r[2t+1] to accumulator B gives, mod 2^16, A = sum r[2t] + 256 sum r[2t+1]
// and B = sum r[2t+1], so sum r[2t] = A - 256 B (mod 2^16), exact because
// fs4_quantize_lut keeps every true sum below 2^16. Blocks of a wider
// register hold different subquantizers of the same vectors; they are added
// together at the end of each block of 32 vectors.

// Toggled include guard: this file is compiled once per target.
#if defined(IQDB_KERNELS_FS4_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef IQDB_KERNELS_FS4_INL_H_
#undef IQDB_KERNELS_FS4_INL_H_
#else
#define IQDB_KERNELS_FS4_INL_H_
#endif

#include <cstddef>
#include <cstdint>
#include <cstring>

#include <hwy/cache_control.h>
#include <hwy/highway.h>

#include "kernels/pq.h"
#include "kernels/pq8-inl.h"

HWY_BEFORE_NAMESPACE();
namespace iqdb::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

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
    // Lanes past `count` repeat rows already counted: a short group repeats
    // its last row, and one-row groups (scalable targets) hold their row's
    // extremum in every lane. Count each row once.
    if (count < hn::Lanes(d)) {
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

inline void fs4_quantize_kernel(const float* table, size_t num_sub, size_t m_pad, uint8_t* lut,
                                float* bias_out, float* scale_out) {
  quantize_rows(TableRows{table, num_sub}, m_pad, lut, bias_out, scale_out);
}

inline void fs4_l2_lut_kernel(const float* x, const float* center, size_t num_sub, size_t dsub,
                              const float* codebooks, size_t m_pad, float* table, uint8_t* lut,
                              float* bias_out, float* scale_out) {
  // The table goes through L1 once: computing rows inside the extrema tree
  // instead costs more in register pressure than the stores save.
  l2_table_kernel(x, center, num_sub, dsub, codebooks, kFs4Ksub, table);
  quantize_rows(TableRows{table, num_sub}, m_pad, lut, bias_out, scale_out);
}

#if HWY_TARGET == HWY_SCALAR

// One-lane target: no byte shuffles; a plain loop gives the same sums.
inline void fs4_scan_kernel(const uint8_t* blocks, size_t n_blocks, size_t m_pad,
                            const uint8_t* lut, uint16_t threshold, uint16_t* out,
                            uint32_t* masks) {
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
#if HWY_HAVE_SCALABLE
// The block count is known only at run time (MaxLanes is an upper bound):
// fold through memory, once per block of 32 vectors.
template <class D>
HWY_INLINE hn::Vec<Word128> fold_blocks(D d, hn::Vec<D> v) {
  HWY_ALIGN uint16_t lanes[hn::MaxLanes(d)];
  hn::Store(v, d, lanes);
  const Word128 d128;
  hn::Vec<Word128> sum = hn::Load(d128, lanes);
  for (size_t i = hn::Lanes(d128); i < hn::Lanes(d); i += hn::Lanes(d128)) {
    sum = hn::Add(sum, hn::Load(d128, lanes + i));
  }
  return sum;
}
#else
template <class D>
HWY_INLINE hn::Vec<Word128> fold_blocks(D d, hn::Vec<D> v) {
  if constexpr (hn::MaxLanes(d) > 8) {
    const hn::Half<D> dh;
    return fold_blocks(dh, hn::Add(hn::LowerHalf(dh, v), hn::UpperHalf(dh, v)));
  } else {
    return v;
  }
}
#endif

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

inline void fs4_scan_kernel(const uint8_t* blocks, size_t n_blocks, size_t m_pad,
                            const uint8_t* lut, uint16_t threshold, uint16_t* out,
                            uint32_t* masks) {
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

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace iqdb::kernels
HWY_AFTER_NAMESPACE();

#endif  // IQDB_KERNELS_FS4_INL_H_
