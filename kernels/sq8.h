// SQ8 distance kernels: 8-bit scalar-quantised codes, compared in integer
// arithmetic, compiled once per Highway target and chosen at run time for
// the CPU (see sq8.cc).
//
// A code row holds one byte per dimension. Two code families exist:
//   - unsigned (uint8 0..255), for L2 and L1: x_i ~ min_i + scale * c_i, so
//     differences of codes are differences of values up to one common scale;
//   - signed (int8 -127..127 stored in the same bytes), for dot and cosine:
//     x_i ~ scale * c_i, so code dot products are value dot products up to
//     scale^2.
// A query is quantised into int16 "query codes" on the same grid (it may lie
// outside the stored range, within the limits below), so one query against
// many rows costs integer multiply-adds and a quarter of the f32 traffic.
//
// Contract for every function: pointers and counts in, numbers out. No
// allocation, no Status, no threads, no alignment requirement. `dim` may be
// any value >= 1 (multiples of 64 take no scalar tail). Sums are exact
// integers (accumulated in 32-bit blocks, 64-bit across blocks), returned as
// float (rounded once when above 2^24).
//
// Thread-safety: the tables are immutable after first use; every function is
// reentrant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace iqdb::kernels {

// Query codes for the unsigned kernels must lie in [kSq8QueryMin, kSq8QueryMax].
inline constexpr int16_t kSq8QueryMin = -1024;
inline constexpr int16_t kSq8QueryMax = 1279;
// Query codes for the signed (dot) kernel must satisfy |q| <= kSq8DotQueryLimit.
inline constexpr int16_t kSq8DotQueryLimit = 4096;

// One query against one code row.
using Sq8QueryFn = float (*)(const int16_t* q, const uint8_t* codes, size_t dim);
// One code row against another (symmetric).
using Sq8CodesFn = float (*)(const uint8_t* a, const uint8_t* b, size_t dim);
// As Sq8GatherFn, but a row may stop early once its partial sum exceeds
// `bound`: out[i] is then some value > bound instead of the full sum (the
// caller only needs to know it is beyond the bound). Unsigned L2 and L1,
// whose terms are never negative.
using Sq8GatherBoundedFn = void (*)(const int16_t* q, const uint8_t* base, size_t stride_bytes,
                                    const uint32_t* slots, size_t n, size_t dim, float bound,
                                    float* out);
// Quantises a query: out[i] = floor(v_i + 0.5) clamped to [lo, hi], with
// v_i = (q[i] - offset[i]) * inv_scale (offset null: 0; NaN goes to lo).
// err[0] and err[1] receive the sums of e_i^2 and |e_i| for the rounding
// error e_i = v_i - out[i] (+inf when v_i is not finite).
using Sq8QuantizeFn = void (*)(const float* q, const float* offset, float inv_scale, size_t dim,
                               int16_t lo, int16_t hi, int16_t* out, float* err);
// One query against the code rows base + slots[i] * stride_bytes.
using Sq8GatherFn = void (*)(const int16_t* q, const uint8_t* base, size_t stride_bytes,
                             const uint32_t* slots, size_t n, size_t dim, float* out);

struct Sq8Kernels {
  const char* target;  // Highway target name, e.g. "AVX3"

  // Unsigned codes.
  Sq8QueryFn l2_query;    // sum (q_i - c_i)^2
  Sq8QueryFn l1_query;    // sum |q_i - c_i|
  Sq8CodesFn l2_codes;    // sum (a_i - b_i)^2
  Sq8CodesFn l1_codes;    // sum |a_i - b_i|
  Sq8GatherFn l2_gather;  // l2_query per slot
  Sq8GatherFn l1_gather;  // l1_query per slot

  // Signed codes (the bytes are int8).
  Sq8QueryFn dot_query;    // sum q_i * c_i
  Sq8CodesFn dot_codes;    // sum a_i * b_i
  Sq8GatherFn dot_gather;  // dot_query per slot

  Sq8QuantizeFn quantize;  // query codes for either family

  Sq8GatherBoundedFn l2_gather_bounded;  // l2_gather, abandoning rows past a bound
  Sq8GatherBoundedFn l1_gather_bounded;  // l1_gather, abandoning rows past a bound
};

// The kernels for the best target this CPU supports. Chosen on first call.
const Sq8Kernels& active_sq8_kernels();

// One table per target compiled into this build that the CPU can run, best
// first. For tests and benchmarks that compare targets.
std::vector<const Sq8Kernels*> runnable_sq8_kernels();

}  // namespace iqdb::kernels
