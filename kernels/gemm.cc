// Register-blocked query-panel x row kernels of gemm.h, compiled once per
// Highway target.
//
// foreach_target.h re-includes this file once per target in HWY_TARGETS
// (HWY_NAMESPACE names the target); each pass builds that target's
// GemmKernels table. The final pass (HWY_ONCE) exports the per-target table
// getters and picks one at run time, exactly like distance.cc.
//
// Register budget. A block of R rows x V panel vectors needs R * V
// accumulators, V panel vectors and one broadcast live at once. x86 AVX-512
// has 32 vector registers: 24 accumulators (4 x 6, 3 x 8, 2 x 12), which also
// covers the 4-cycle FMA latency at two FMAs per cycle many times over.
// Every other target gets 12 (16 registers on AVX2/SSE, and the scalar
// target's floats). Rows per block are capped at 12: each row costs one
// broadcast load per element, and past that the loads, not the FMAs, bound
// the loop.

#include "kernels/gemm.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/gemm.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace iqdb::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;

#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
inline constexpr size_t kAccumulators = 24;
inline constexpr size_t kMaxPanelVectors = 4;
#else
inline constexpr size_t kAccumulators = 12;
inline constexpr size_t kMaxPanelVectors = 2;
#endif
inline constexpr size_t kMaxRowsPerBlock = 12;

constexpr size_t rows_per_block(size_t panel_vectors) {
  return kAccumulators / panel_vectors < kMaxRowsPerBlock ? kAccumulators / panel_vectors
                                                          : kMaxRowsPerBlock;
}

void pack_queries(const float* queries, size_t query_stride, size_t n_queries, size_t dim,
                  size_t panel_vectors, float* panel) {
  const size_t width = panel_vectors * hn::Lanes(DF());
  std::memset(panel, 0, dim * width * sizeof(float));
  for (size_t j = 0; j < n_queries && j < width; ++j) {
    const float* q = queries + j * query_stride;
    for (size_t k = 0; k < dim; ++k) panel[k * width + j] = q[k];
  }
}

#if HWY_HAVE_SCALABLE
// Scalable vectors cannot live in arrays: one row and one panel vector at a
// time. (No such target is compiled on x86; this keeps other builds working.)
void dot_panel(const float* panel, size_t panel_vectors, const float* rows, size_t stride_floats,
               const uint32_t* slots, size_t n, size_t dim, const PanelFilter* filter, float* out,
               uint64_t* pass) {
  const DF d;
  const size_t lanes = hn::Lanes(d);
  const size_t width = panel_vectors * lanes;
  for (size_t r = 0; r < n; ++r) {
    const float* row = rows + (slots ? size_t{slots[r]} : r) * stride_floats;
    uint64_t bits = 0;
    for (size_t v = 0; v < panel_vectors; ++v) {
      VF acc = hn::Zero(d);
      for (size_t k = 0; k < dim; ++k) {
        acc = hn::MulAdd(hn::Load(d, panel + k * width + v * lanes), hn::Set(d, row[k]), acc);
      }
      hn::StoreU(acc, d, out + r * width + v * lanes);
      if (filter != nullptr) {
        for (size_t i = 0; i < lanes; ++i) {
          const size_t j = v * lanes + i;
          const float dot = out[r * width + j];
          const float value =
              filter->q_add[j] + filter->row_add[r] + dot * (filter->q_mul[j] * filter->row_mul[r]);
          if (!(value > filter->limit[j])) bits |= uint64_t{1} << j;
        }
      }
    }
    if (filter != nullptr) pass[r] = bits;
  }
}
#else

// The lanes of a mask as the low bits of a word (lane i -> bit i).
HWY_INLINE uint64_t mask_bits(DF d, hn::Mask<DF> m) {
  uint8_t bytes[8] = {};
  hn::StoreMaskBits(d, m, bytes);
  uint64_t bits = 0;
  for (size_t i = 0; i < (hn::Lanes(d) + 7) / 8 && i < 8; ++i)
    bits |= uint64_t{bytes[i]} << (8 * i);
  return bits;
}

// R rows x V panel vectors, all accumulators in registers.
// `row_index[r]` is the index of row r in the call (for the filter's row
// terms); `pass` points at this block's first flag.
template <size_t R, size_t V>
HWY_INLINE void block(const float* HWY_RESTRICT panel, const float* const* row,
                      const size_t* row_index, size_t dim, const PanelFilter* filter,
                      float* HWY_RESTRICT out, uint64_t* pass) {
  const DF d;
  const size_t lanes = hn::Lanes(d);
  const size_t width = V * lanes;
  VF acc[R][V];
  HWY_UNROLL(12)
  for (size_t r = 0; r < R; ++r) {
    HWY_UNROLL(4)
    for (size_t v = 0; v < V; ++v) acc[r][v] = hn::Zero(d);
  }
  for (size_t k = 0; k < dim; ++k) {
    const float* HWY_RESTRICT pk = panel + k * width;
    VF q[V];
    HWY_UNROLL(4)
    for (size_t v = 0; v < V; ++v) q[v] = hn::Load(d, pk + v * lanes);
    HWY_UNROLL(12)
    for (size_t r = 0; r < R; ++r) {
      const VF x = hn::Set(d, row[r][k]);
      HWY_UNROLL(4)
      for (size_t v = 0; v < V; ++v) acc[r][v] = hn::MulAdd(q[v], x, acc[r][v]);
    }
  }
  HWY_UNROLL(12)
  for (size_t r = 0; r < R; ++r) {
    HWY_UNROLL(4)
    for (size_t v = 0; v < V; ++v) hn::StoreU(acc[r][v], d, out + r * width + v * lanes);
  }
  if (filter == nullptr) return;
  // The filter on the accumulators still in registers.
  VF q_mul[V], q_add[V], limit[V];
  HWY_UNROLL(4)
  for (size_t v = 0; v < V; ++v) {
    q_mul[v] = hn::LoadU(d, filter->q_mul + v * lanes);
    q_add[v] = hn::LoadU(d, filter->q_add + v * lanes);
    limit[v] = hn::LoadU(d, filter->limit + v * lanes);
  }
  HWY_UNROLL(12)
  for (size_t r = 0; r < R; ++r) {
    const VF row_mul = hn::Set(d, filter->row_mul[row_index[r]]);
    const VF row_add = hn::Set(d, filter->row_add[row_index[r]]);
    uint64_t bits = 0;
    HWY_UNROLL(4)
    for (size_t v = 0; v < V; ++v) {
      // Passing lanes: not "> limit" (NaN compares false, so passes).
      const auto fails = hn::Gt(
          hn::MulAdd(acc[r][v], hn::Mul(q_mul[v], row_mul), hn::Add(q_add[v], row_add)), limit[v]);
      if (!hn::AllTrue(d, fails)) bits |= mask_bits(d, hn::Not(fails)) << (v * lanes);
    }
    pass[r] = bits;
  }
}

// The rows left after the whole blocks of rows_per_block(V): one smaller
// block of exactly `n` rows (n < rows_per_block(V)).
template <size_t V, size_t R = rows_per_block(V) - 1>
HWY_INLINE void remainder_block(const float* panel, const float* const* row,
                                const size_t* row_index, size_t n, size_t dim,
                                const PanelFilter* filter, float* out, uint64_t* pass) {
  if constexpr (R == 0) {
    (void)panel, (void)row, (void)row_index, (void)n, (void)dim, (void)filter, (void)out,
        (void)pass;
  } else {
    if (n == R) {
      block<R, V>(panel, row, row_index, dim, filter, out, pass);
    } else {
      remainder_block<V, R - 1>(panel, row, row_index, n, dim, filter, out, pass);
    }
  }
}

template <size_t V>
HWY_INLINE void panel_rows(const float* panel, const float* rows, size_t stride_floats,
                           const uint32_t* slots, size_t n, size_t dim, const PanelFilter* filter,
                           float* out, uint64_t* pass) {
  constexpr size_t kRows = rows_per_block(V);
  const size_t width = V * hn::Lanes(DF());
  const float* row[kRows];
  size_t row_index[kRows];
  for (size_t r = 0; r < n; r += kRows) {
    const size_t m = n - r < kRows ? n - r : kRows;
    for (size_t i = 0; i < m; ++i) {
      row[i] = rows + (slots ? size_t{slots[r + i]} : r + i) * stride_floats;
      row_index[i] = r + i;
    }
    uint64_t* block_pass = pass ? pass + r : nullptr;
    if (m == kRows) {
      block<kRows, V>(panel, row, row_index, dim, filter, out + r * width, block_pass);
    } else {
      remainder_block<V>(panel, row, row_index, m, dim, filter, out + r * width, block_pass);
    }
  }
}

void dot_panel(const float* panel, size_t panel_vectors, const float* rows, size_t stride_floats,
               const uint32_t* slots, size_t n, size_t dim, const PanelFilter* filter, float* out,
               uint64_t* pass) {
  switch (panel_vectors) {
    case 1: return panel_rows<1>(panel, rows, stride_floats, slots, n, dim, filter, out, pass);
    case 2: return panel_rows<2>(panel, rows, stride_floats, slots, n, dim, filter, out, pass);
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
    case 3: return panel_rows<3>(panel, rows, stride_floats, slots, n, dim, filter, out, pass);
    case 4: return panel_rows<4>(panel, rows, stride_floats, slots, n, dim, filter, out, pass);
#endif
    default: return;
  }
}
#endif  // HWY_HAVE_SCALABLE

// Independent multiply-add chains, as many as the micro-kernel keeps. They
// are named locals rather than an array: SVE vectors are sizeless and may
// not be array elements. IQDB_GEMM_PROBE_CHAINS(X) expands X(c) for each.
#define IQDB_GEMM_PROBE_12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
#define IQDB_GEMM_PROBE_CHAINS(X) \
  IQDB_GEMM_PROBE_12(X) X(12) X(13) X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23)
#else
#define IQDB_GEMM_PROBE_CHAINS(X) IQDB_GEMM_PROBE_12(X)
#endif
#define IQDB_GEMM_PROBE_COUNT(c) +1
inline constexpr size_t kProbeChains = 0 IQDB_GEMM_PROBE_CHAINS(IQDB_GEMM_PROBE_COUNT);
static_assert(kProbeChains == kAccumulators, "one probe chain per accumulator");

float fma_probe(size_t iterations) {
  const DF d;
#define IQDB_GEMM_PROBE_INIT(c) VF acc##c = hn::Set(d, 1.0f + 0.001f * float(c));
#define IQDB_GEMM_PROBE_STEP(c) acc##c = hn::MulAdd(acc##c, m, a);
#define IQDB_GEMM_PROBE_SUM(c) sum = hn::Add(sum, acc##c);
  IQDB_GEMM_PROBE_CHAINS(IQDB_GEMM_PROBE_INIT)
  // A fixed point near 1: x * m + a stays finite and normal forever.
  const VF m = hn::Set(d, 0.9999f);
  const VF a = hn::Set(d, 0.0001f);
  for (size_t i = 0; i < iterations; ++i) {
    IQDB_GEMM_PROBE_CHAINS(IQDB_GEMM_PROBE_STEP)
  }
  VF sum = hn::Zero(d);
  IQDB_GEMM_PROBE_CHAINS(IQDB_GEMM_PROBE_SUM)
  return hn::GetLane(hn::SumOfLanes(d, sum));
}
#undef IQDB_GEMM_PROBE_SUM
#undef IQDB_GEMM_PROBE_STEP
#undef IQDB_GEMM_PROBE_INIT

// This target's table; built on first use, immutable afterwards.
const GemmKernels* target_gemm_kernels() {
  static const GemmKernels kTable = {
    hwy::TargetName(HWY_TARGET),
    hn::Lanes(DF()),
#if HWY_HAVE_SCALABLE
    1,
#else
    kMaxPanelVectors,
#endif
    &pack_queries,
    &dot_panel,
    &fma_probe,
    kProbeChains * hn::Lanes(DF()) * 2,
  };
  return &kTable;
}

#undef IQDB_GEMM_PROBE_COUNT
#undef IQDB_GEMM_PROBE_CHAINS
#undef IQDB_GEMM_PROBE_12

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace iqdb::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "kernels/target_tables.h"

IQDB_KERNELS_EXPORT_TABLES(GemmKernels, target_gemm_kernels, active_gemm_kernels,
                           runnable_gemm_kernels)
#endif  // HWY_ONCE
