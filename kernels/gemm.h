// Register-blocked dot products of many queries against many rows (the
// inner loop of a batched exact search), compiled once per Highway target
// and chosen at run time for the CPU (see gemm.cc).
//
// Layout. The queries of a batch are first packed into "panels": a panel
// holds `width` queries (width = panel_vectors * lanes, a whole number of
// vectors) transposed, so element k of the panel's queries is one contiguous
// run of `width` floats: panel[k * width + j] = query j, element k. Unused
// query columns are zero. The rows stay where they are (row-major, a stride
// apart, or picked by slot number).
//
// The micro-kernel keeps an R rows x V vectors block of accumulators in
// registers (24 on targets with 32 vector registers, 12 on the others): per
// element k it loads V vectors of the panel, broadcasts one float of each of
// the R rows, and issues R * V fused multiply-adds. Every load feeds several
// FMAs, so the loop runs at the FMA throughput rather than the load
// throughput. There is no tail along k (the vectors run across queries), so
// any dim works; rows left over after the last whole block of R take a
// smaller block.
//
// Summation: out = sum over k in order 0..dim-1 of one multiply-add chain per
// (row, query). Its rounding error is at most 2 * dim * 2^-24 * sum |q_k x_k|
// (one rounding per step with FMA, two on targets without it); callers that
// need exact rankings recheck near-ties with the one-row kernels of
// distance.h.
//
// Contract for every function: pointers and counts in, numbers out. No
// allocation, no Status, no threads. A row is read only in [row, row + dim).
//
// Thread-safety: the tables are immutable after first use; every function is
// reentrant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace iqdb::kernels {

// Packs `n_queries` queries (row-major, `query_stride` floats apart; n_queries
// <= width) into a panel of `dim * width` floats, width = panel_vectors *
// lanes. `panel` must be aligned to 64 bytes.
using PackQueriesFn = void (*)(const float* queries, size_t query_stride, size_t n_queries,
                               size_t dim, size_t panel_vectors, float* panel);

// An optional test applied to each dot product while it is still in a
// register, so a caller scanning for the few pairs that matter need not
// read every product back. Pair (row r, query column j) passes when
//   !(q_add[j] + row_add[r] + dot(j, r) * (q_mul[j] * row_mul[r]) > limit[j])
// (NaN passes). The q_* and limit arrays hold `width` floats (give unused
// columns limit = -inf), the row_* arrays n floats.
struct PanelFilter {
  const float* q_add;
  const float* q_mul;
  const float* limit;
  const float* row_add;
  const float* row_mul;
};

// Dot products of every query of a panel with n rows:
//   out[r * width + j] = sum_k panel[k * width + j] * row_r[k]
// where row_r = rows + slots[r] * stride_floats (slots null: rows + r *
// stride_floats). `panel_vectors` must be in [1, max_panel_vectors]. With a
// filter, bit j of passing[r] is set when pair (r, j) passes it (filter
// null: passing is not written and may be null). A panel is at most 64
// queries wide.
using DotPanelFn = void (*)(const float* panel, size_t panel_vectors, const float* rows,
                            size_t stride_floats, const uint32_t* slots, size_t n, size_t dim,
                            const PanelFilter* filter, float* out, uint64_t* passing);

// Runs `iterations` rounds of independent FMA chains in registers (no memory
// traffic) and returns a value that depends on all of them, so the work
// cannot be optimised away. Each round is `fma_probe_flops` floating-point
// operations (an FMA counts as two).
using FmaProbeFn = float (*)(size_t iterations);

struct GemmKernels {
  const char* target;        // Highway target name, e.g. "AVX3"
  size_t lanes;              // floats per vector
  size_t max_panel_vectors;  // V: a full panel holds max_panel_vectors * lanes queries
  PackQueriesFn pack_queries;
  DotPanelFn dot_panel;
  FmaProbeFn fma_probe;
  size_t fma_probe_flops;
};

// The kernels for the best target this CPU supports. Chosen on first call
// and then fixed for the life of the process.
const GemmKernels& active_gemm_kernels();

// One table per target compiled into this build that the CPU can run, best
// first. For tests and benchmarks that compare targets.
std::vector<const GemmKernels*> runnable_gemm_kernels();

}  // namespace iqdb::kernels
