// Product-quantisation and k-means kernels for the IVF index, compiled once
// per Highway target and chosen at run time for the CPU (see pq.cc).
//
// What they compute:
//   - nearest_l2: for many rows, the nearest of k centroids in squared L2
//     (the k-means assignment step and the IVF list assignment);
//   - l2_table / neg_dot_table: a query's per-subquantizer distance table
//     (the PQ lookup table, LUT) against a codebook;
//   - assign: for many short points, the nearest codeword (PQ encoding and
//     the k-means assignment inside one subspace);
//   - pq8_scan: asymmetric distances of 8-bit codes, sum of table lookups;
//   - fs4_quantize_lut (or fs4_l2_lut, table and quantisation in one) +
//     fs4_scan: the 4-bit "fast-scan" path: the float table is quantised to
//     uint8, and codes stored in blocks of 32 vectors are looked up 16 at a
//     time with byte shuffles, summed in uint16.
//
// Codebook layout ("transposed", so that one vector holds many codewords):
// subquantizer m, dimension d of codeword j is
//     codebooks[(m * dsub + d) * ksub + j]
// ksub must be a multiple of 16 (the IVF index uses 16 and 256).
//
// Fast-scan code layout (target independent, so it can be saved):
//   - vectors are grouped in blocks of kFs4BlockVectors = 32;
//   - the subquantizer count is padded to m_pad, a multiple of
//     kFs4SubquantizerGroup = 4 (padding codes are 0, padding LUT rows 0);
//   - a block is m_pad runs of 16 bytes, run m at offset 16 * m; byte i of
//     run m holds code(vector i, m) in its low nibble and
//     code(vector i + 16, m) in its high nibble;
//   - the LUT is m_pad rows of 16 uint8, row m at lut + 16 * m.
//   A 128-bit register then holds one subquantizer's LUT and codes (a
//   256-bit register two, a 512-bit register four), so one byte shuffle looks
//   up 16 vectors of one subquantizer per 128-bit block.
//
// Contract for every function: pointers and counts in, numbers out. No
// allocation, no Status, no threads, no alignment requirement. A kernel
// reads exactly the elements described, never past them.
//
// Results are float sums in a target-dependent order and may use fused
// multiply-add: they match a double-precision reference to rounding, not bit
// for bit. fs4_scan is exact integer arithmetic on every target.
//
// Thread-safety: the tables are immutable after first use; every function is
// reentrant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace iqdb::kernels {

inline constexpr size_t kFs4BlockVectors = 32;
inline constexpr size_t kFs4SubquantizerGroup = 4;
inline constexpr size_t kFs4Ksub = 16;

// Subquantizers after padding, and bytes per block of 32 vectors.
constexpr size_t fs4_padded_subquantizers(size_t m) {
  return (m + kFs4SubquantizerGroup - 1) / kFs4SubquantizerGroup * kFs4SubquantizerGroup;
}
constexpr size_t fs4_block_bytes(size_t m_pad) { return 16 * m_pad; }

// Writes / reads the 4-bit code of vector `v` (0..31) for subquantizer `m` in
// one block. Scalar helpers for packing; the scan never uses them.
inline void fs4_set_code(uint8_t* block, size_t m, size_t v, uint8_t code) {
  uint8_t& byte = block[16 * m + (v & 15)];
  if (v < 16) {
    byte = static_cast<uint8_t>((byte & 0xF0) | (code & 0x0F));
  } else {
    byte = static_cast<uint8_t>((byte & 0x0F) | ((code & 0x0F) << 4));
  }
}
inline uint8_t fs4_get_code(const uint8_t* block, size_t m, size_t v) {
  const uint8_t byte = block[16 * m + (v & 15)];
  return static_cast<uint8_t>(v < 16 ? byte & 0x0F : byte >> 4);
}

// For rows base + i * row_stride (i < n, dim floats each) the index of the
// nearest of k centroids (centroids + j * centroid_stride, squared norms in
// centroid_sq_norms[j]) in squared L2, and that squared distance (computed
// as |x|^2 + |c|^2 - 2 x.c, clamped at 0). Ties go to the lower index.
// Requires k >= 1; dists may be null.
using NearestL2Fn = void (*)(const float* rows, size_t row_stride, size_t n, const float* centroids,
                             size_t centroid_stride, const float* centroid_sq_norms, size_t k,
                             size_t dim, uint32_t* labels, float* dists);

// out[m * ksub + j] = sum_d (x[m*dsub + d] - center[m*dsub + d] - cb(m, d, j))^2
// for m < num_sub, j < ksub. center may be null (treated as zero).
using L2TableFn = void (*)(const float* x, const float* center, size_t num_sub, size_t dsub,
                           const float* codebooks, size_t ksub, float* out);

// out[m * ksub + j] = -sum_d x[m*dsub + d] * cb(m, d, j).
using NegDotTableFn = void (*)(const float* x, size_t num_sub, size_t dsub, const float* codebooks,
                               size_t ksub, float* out);

// For points x + i * x_stride (i < n, dsub floats each), the nearest (L2)
// codeword of the codebook at codebook + i * codebook_stride (dsub rows of
// ksub floats, the transposed layout above): labels[i], and its squared
// distance in dists[i] (dists may be null). Ties go to the lower index.
// With codebook_stride = dsub * ksub and x_stride = dsub this encodes one
// vector into n = num_sub codes; with codebook_stride = 0 it assigns many
// points of one subspace.
using AssignFn = void (*)(const float* x, size_t x_stride, size_t n, size_t dsub,
                          const float* codebook, size_t codebook_stride, size_t ksub,
                          uint32_t* labels, float* dists);

// out[i] = sum_m table[m * 256 + codes[i * num_sub + m]] for i < n.
using Pq8ScanFn = void (*)(const uint8_t* codes, size_t n, size_t num_sub, const float* table,
                           float* out);

// Quantises a float table of num_sub rows of 16 into the fast-scan LUT
// (m_pad rows, padding rows zero): lut = round((table - min_m) * scale),
// with min_m the minimum of row m and scale the largest value for which
// every entry fits in uint8 and the sum over m of each row's maximum fits
// in uint16. Then table-based distance ~= bias + (sum of LUT entries) / scale.
// Requires m_pad >= num_sub, m_pad % 4 == 0, num_sub <= 8192, finite input.
using Fs4QuantizeFn = void (*)(const float* table, size_t num_sub, size_t m_pad, uint8_t* lut,
                               float* bias, float* scale);

// fs4_quantize_lut of l2_table(x, center) (ksub 16), computed without
// storing the float table when dsub is 1, 2 or 4 (`table`, num_sub * 16
// floats, is scratch for other dsub). center must not be null.
using Fs4L2LutFn = void (*)(const float* x, const float* center, size_t num_sub, size_t dsub,
                            const float* codebooks, size_t m_pad, float* table, uint8_t* lut,
                            float* bias, float* scale);

// out[b * 32 + v] = sum_{m < m_pad} lut[16 m + code(b, v, m)] for every
// vector v of blocks b < n_blocks (the layout above), exactly, provided the
// LUT comes from fs4_quantize_lut (so no sum exceeds 65535); bit v of
// masks[b] is set when that sum is <= threshold. May prefetch one block
// past the end (prefetches never fault).
using Fs4ScanFn = void (*)(const uint8_t* blocks, size_t n_blocks, size_t m_pad, const uint8_t* lut,
                           uint16_t threshold, uint16_t* out, uint32_t* masks);

struct PqKernels {
  const char* target;  // Highway target name, e.g. "AVX3"
  NearestL2Fn nearest_l2;
  L2TableFn l2_table;
  NegDotTableFn neg_dot_table;
  AssignFn assign;
  Pq8ScanFn pq8_scan;
  Fs4QuantizeFn fs4_quantize_lut;
  Fs4L2LutFn fs4_l2_lut;
  Fs4ScanFn fs4_scan;
};

// The kernels for the best target this CPU supports. Chosen on first call.
const PqKernels& active_pq_kernels();

// One table per target compiled into this build that the CPU can run, best
// first. For tests and benchmarks that compare targets.
std::vector<const PqKernels*> runnable_pq_kernels();

}  // namespace iqdb::kernels
