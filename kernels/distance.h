// f32 distance kernels, compiled once per Highway target and chosen at run
// time for the CPU (see distance.cc).
//
// Contract for every function: pointers and counts in, numbers out. No
// allocation, no Status, no threads, no alignment requirement (aligned rows
// are faster). `dim` may be any value >= 1. Rows of a block are
// `stride_floats` floats apart (stride_floats >= dim). A kernel reads exactly
// the floats [row, row + dim) of each row and query, and slots[0, n) of a
// gather (never past them, so a row may end at the end of a mapping); it may
// prefetch upcoming rows, which never faults. n may be 0.
//
// Results are float sums taken in a target-dependent order (several
// accumulators, lane sums): they match a sequential double-precision sum to
// rounding, not bit for bit, and may differ slightly between targets. On one
// target, block and gather kernels give a row the same bits wherever it
// falls in a call (every row takes the same summation order); a pair kernel
// may round differently.
//
// Thread-safety: the tables are immutable after first use; every function is
// reentrant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace iqdb::kernels {

// One query against one row.
using PairFn = float (*)(const float* a, const float* b, size_t dim);
// One query against n rows starting at `rows`, out[i] = f(q, rows + i * stride).
using BlockFn = void (*)(const float* q, const float* rows, size_t stride_floats, size_t n,
                         size_t dim, float* out);
// One query against the rows base + slots[i] * stride, out[i] = f(q, row).
using GatherFn = void (*)(const float* q, const float* base, size_t stride_floats,
                          const uint32_t* slots, size_t n, size_t dim, float* out);

struct DistanceKernels {
  const char* target;  // Highway target name, e.g. "AVX3"

  // sum (a_i - b_i)^2
  PairFn l2_squared;
  // sum a_i * b_i
  PairFn dot;
  // sum |a_i - b_i|
  PairFn l1;
  // number of i with a_i != b_i (as float), IEEE comparison: -0 equals +0,
  // inf equals inf, NaN differs from everything including NaN. Exact while
  // dim < 2^24.
  PairFn hamming;
  // sum a_i^2 (b is ignored and never read; pass the same pointer)
  PairFn squared_norm;

  BlockFn l2_squared_block, dot_block, l1_block, hamming_block;
  GatherFn l2_squared_gather, dot_gather, l1_gather, hamming_gather;
};

// The kernels for the best target this CPU supports. Chosen on first call
// (hwy::DisableTargets made before it is honoured) and then fixed for the
// life of the process.
const DistanceKernels& active_kernels();

// One table per target compiled into this build that the CPU can run, best
// first. For tests and benchmarks that compare targets. Changes no global
// dispatch state, so it is safe while other threads run kernels.
std::vector<const DistanceKernels*> runnable_kernels();

// Names of all targets compiled into this build, best first.
std::vector<const char*> compiled_target_names();

// Cosine distance from a dot product and the two inverse norms
// (inv_norm = 1/|x|, or 0 for a zero vector, which is then at distance 1).
inline float cosine_from_dot(float dot, float inv_norm_a, float inv_norm_b) {
  return 1.0f - dot * inv_norm_a * inv_norm_b;
}

}  // namespace iqdb::kernels
