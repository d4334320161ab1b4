// Distance kernels for compact row types against an f32 query: u8 (exact
// whole numbers), IEEE f16, bfloat16 and SQ8 (per-dimension offset + scale *
// u8 code), plus u8 x u8 in integer arithmetic for queries that are whole
// numbers too. Compiled once per Highway target and chosen at run time for
// the CPU (see typed.cc).
//
// Every kernel decodes a row to f32 lanes in registers and applies the same
// metric terms as distance.h (L2 squared, dot, L1, Hamming). A row's value
// depends only on the query and that row: never on the other rows of the
// call or the row's position in it. The u8 x u8 kernels sum exact integers
// (32-bit lanes flushed into 64 bits) and round once to float.
//
// The scalar conversions below are the reference for the vector ones and
// the encoders the vector store uses (the same codes on every CPU).
//
// Contract for every function: pointers and counts in, numbers out. No
// allocation, no Status, no threads, no alignment requirement. A row is read
// only in [row, row + dim elements). `dim` >= 1; n may be 0.
//
// Thread-safety: the tables are immutable after first use; every function is
// reentrant.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

namespace iqdb::kernels {

enum class RowType : uint8_t { kU8 = 0, kF16 = 1, kBF16 = 2, kSq8 = 3 };
inline constexpr size_t kRowTypes = 4;
enum class TypedOp : uint8_t { kL2Squared = 0, kDot = 1, kL1 = 2, kHamming = 3 };
inline constexpr size_t kTypedOps = 4;

inline constexpr size_t row_type_bytes(RowType t) {
  return t == RowType::kF16 || t == RowType::kBF16 ? 2 : 1;
}

// The query side of a comparison.
struct TypedQuery {
  const float* values;  // dim floats
  // u8 x u8 kernels only: the query as bytes (every value a whole number
  // in [0, 255]).
  const uint8_t* bytes;
  // SQ8 only: row value i is offset[i] + scale[i] * code[i].
  const float* offset;
  const float* scale;
};

// out[r] = op(query, row r), row r at base + slots[r] * stride_bytes (slots
// null: base + r * stride_bytes).
using TypedRowsFn = void (*)(const TypedQuery& q, const uint8_t* base, size_t stride_bytes,
                             const uint32_t* slots, size_t n, size_t dim, float* out);
// out[i] = value i of the row (offset/scale: SQ8 only, else ignored).
using DecodeFn = void (*)(const uint8_t* row, size_t dim, const float* offset, const float* scale,
                          float* out);

struct TypedKernels {
  const char* target;  // Highway target name, e.g. "AVX3"
  // [RowType][TypedOp]: f32 query against rows of that type.
  TypedRowsFn rows[kRowTypes][kTypedOps];
  // [TypedOp]: u8 query bytes against u8 rows, exact integer sums.
  TypedRowsFn u8_exact[kTypedOps];
  DecodeFn decode[kRowTypes];
};

// The kernels for the best target this CPU supports. Chosen on first call.
const TypedKernels& active_typed_kernels();

// One table per target compiled into this build that the CPU can run, best
// first. For tests and benchmarks that compare targets.
std::vector<const TypedKernels*> runnable_typed_kernels();

// ---- Scalar conversions (round to nearest, ties to even).

inline uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
inline float bits_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// bfloat16 keeps f32's exponent and the top 7 mantissa bits. Finite inputs
// that would round past the largest bfloat16 (within 2^-9 of FLT_MAX) clamp
// to it instead of becoming infinite.
inline uint16_t f32_to_bf16(float f) {
  const uint32_t u = float_bits(f);
  if (std::isnan(f)) return static_cast<uint16_t>((u >> 16) | 0x40);
  const uint32_t rounded = u + 0x7FFFu + ((u >> 16) & 1u);
  uint16_t out = static_cast<uint16_t>(rounded >> 16);
  if (std::isfinite(f) && (out & 0x7F80u) == 0x7F80u)
    out = static_cast<uint16_t>((u >> 31) << 15 | 0x7F7Fu);
  return out;
}
inline float bf16_to_f32(uint16_t h) { return bits_float(uint32_t{h} << 16); }

// IEEE binary16. Values of magnitude >= 65520 become infinite (the store
// rejects them); below 2^-24 they round to (signed) zero through subnormals.
inline uint16_t f32_to_f16(float f) {
  const uint32_t u = float_bits(f);
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  const float a = std::fabs(f);
  if (std::isnan(f)) return static_cast<uint16_t>(sign | 0x7E00u);
  if (a >= 65520.0f) return static_cast<uint16_t>(sign | 0x7C00u);
  if (a < 6.103515625e-05f) {
    // Subnormal (or zero): units of 2^-24, rounded to nearest even by the
    // float addition of a large power of two.
    const float scaled = a * 16777216.0f;                // exact: a power-of-two scale
    const float r = (scaled + 8388608.0f) - 8388608.0f;  // rint, ties to even
    return static_cast<uint16_t>(sign | static_cast<uint16_t>(r));
  }
  // Normal: drop 13 mantissa bits with round to nearest even; a carry into
  // the exponent is the correct result (up to 65504, checked above).
  const uint32_t mag = u & 0x7FFFFFFFu;
  const uint32_t rounded = mag + 0x0FFFu + ((mag >> 13) & 1u);
  const uint32_t exp = (rounded >> 23) - 127 + 15;
  return static_cast<uint16_t>(sign | (exp << 10) | ((rounded >> 13) & 0x3FFu));
}
inline float f16_to_f32(uint16_t h) {
  const uint32_t sign = uint32_t{h & 0x8000u} << 16;
  const uint32_t exp = (h >> 10) & 0x1Fu;
  const uint32_t mant = h & 0x3FFu;
  if (exp == 0) {
    const float v = static_cast<float>(mant) * (1.0f / 16777216.0f);  // mant * 2^-24, exact
    return bits_float(float_bits(v) | sign);
  }
  if (exp == 31) return bits_float(sign | 0x7F800000u | (mant << 13));
  return bits_float(sign | ((exp - 15 + 127) << 23) | (mant << 13));
}

// SQ8 code of value v in a dimension with the given offset and scale:
// round((v - offset) / scale), clamped to [0, 255]; 0 when scale is 0.
inline uint8_t sq8_encode(float v, float offset, float scale) {
  if (!(scale > 0.0f)) return 0;
  const float c = std::nearbyint((v - offset) / scale);
  return static_cast<uint8_t>(c < 0.0f ? 0.0f : c > 255.0f ? 255.0f : c);
}
inline float sq8_decode(uint8_t code, float offset, float scale) {
  return offset + scale * static_cast<float>(code);
}

}  // namespace iqdb::kernels
