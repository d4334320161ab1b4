// Tests for kernels/typed.h: the scalar f16/bf16/SQ8 conversions against
// their definitions (every f16 bit pattern; round to nearest even), and on
// every compiled target the CPU can run, every row type x metric kernel and
// decoder against a double-precision scalar reference, the u8 x u8 integer
// kernels against exact int64 sums (past the int32 flush), position
// independence, and rows that end at the last byte of a mapping.

#include "kernels/typed.h"
#include "util/guarded_region.h"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <hwy/targets.h>

namespace iqdb::kernels {
namespace {

constexpr double kUnitRoundoff = 1.0 / (1 << 24);
constexpr RowType kRowTypesList[] = {RowType::kU8, RowType::kF16, RowType::kBF16, RowType::kSq8};
constexpr TypedOp kOps[] = {TypedOp::kL2Squared, TypedOp::kDot, TypedOp::kL1, TypedOp::kHamming};

const char* type_name(RowType t) {
  switch (t) {
    case RowType::kU8: return "u8";
    case RowType::kF16: return "f16";
    case RowType::kBF16: return "bf16";
    case RowType::kSq8: return "sq8";
  }
  return "?";
}
const char* op_name(TypedOp op) {
  switch (op) {
    case TypedOp::kL2Squared: return "l2";
    case TypedOp::kDot: return "dot";
    case TypedOp::kL1: return "l1";
    case TypedOp::kHamming: return "hamming";
  }
  return "?";
}

// ---- Scalar conversions.

TEST_CASE("f16 conversion round-trips every finite half and rounds to nearest even") {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7C00u) == 0x7C00u) continue;  // inf and NaN
    const float f = f16_to_f32(static_cast<uint16_t>(h));
    REQUIRE(f32_to_f16(f) == h);
  }
  CHECK(f16_to_f32(0x3C00) == 1.0f);
  CHECK(f16_to_f32(0x7BFF) == 65504.0f);
  CHECK(f16_to_f32(0x0001) == std::ldexp(1.0f, -24));
  CHECK(f32_to_f16(65519.0f) == 0x7BFF);
  CHECK(f32_to_f16(65520.0f) == 0x7C00);  // overflows to infinity
  // Midpoints between adjacent halves round to the even one.
  std::mt19937 rng(1);
  for (int i = 0; i < 20000; ++i) {
    const uint16_t h = static_cast<uint16_t>(rng() % 0x7BFF);
    const double lo = f16_to_f32(h), hi = f16_to_f32(static_cast<uint16_t>(h + 1));
    const float mid = static_cast<float>((lo + hi) / 2);  // exact in float
    const uint16_t want = (h & 1) ? static_cast<uint16_t>(h + 1) : h;
    REQUIRE(f32_to_f16(mid) == want);
    // Any float strictly between goes to the nearer one.
    std::uniform_real_distribution<double> u(lo, hi);
    const float v = static_cast<float>(u(rng));
    const double dv = v;
    const uint16_t nearest = (dv - lo < hi - dv)   ? h
                             : (dv - lo > hi - dv) ? static_cast<uint16_t>(h + 1)
                                                   : want;
    REQUIRE(f32_to_f16(v) == nearest);
    REQUIRE(f32_to_f16(-v) == (nearest | 0x8000));
  }
}

TEST_CASE("bf16 conversion rounds to nearest even and clamps instead of overflowing") {
  std::mt19937 rng(2);
  for (int i = 0; i < 100000; ++i) {
    const uint32_t bits = rng() & 0x7F7FFFFFu;  // finite, positive
    const float v = bits_float(bits);
    const uint16_t b = f32_to_bf16(v);
    const uint32_t lo_bits = bits & 0xFFFF0000u;
    const double lo = bits_float(lo_bits), hi = bits_float(lo_bits + 0x10000u);
    const double dv = v;
    uint16_t want = static_cast<uint16_t>(lo_bits >> 16);
    if (dv - lo > hi - dv || (dv - lo == hi - dv && (want & 1))) ++want;
    if ((want & 0x7F80u) == 0x7F80u) want = 0x7F7F;
    REQUIRE(b == want);
    REQUIRE(bf16_to_f32(b) == (dv - lo == 0 ? v : bf16_to_f32(want)));
  }
  CHECK(f32_to_bf16(std::numeric_limits<float>::max()) == 0x7F7F);
  CHECK(f32_to_bf16(-std::numeric_limits<float>::max()) == 0xFF7F);
  for (int v = 0; v <= 255; ++v) CHECK(bf16_to_f32(f32_to_bf16(float(v))) == float(v));
}

TEST_CASE("sq8 codes round to the nearest step and clamp to the code range") {
  CHECK(sq8_encode(10.0f, 10.0f, 0.5f) == 0);
  CHECK(sq8_encode(10.74f, 10.0f, 0.5f) == 1);
  CHECK(sq8_encode(10.76f, 10.0f, 0.5f) == 2);
  CHECK(sq8_encode(-100.0f, 10.0f, 0.5f) == 0);
  CHECK(sq8_encode(1e9f, 10.0f, 0.5f) == 255);
  CHECK(sq8_encode(3.0f, 3.0f, 0.0f) == 0);
  CHECK(sq8_decode(4, 1.0f, 0.25f) == 2.0f);
}

// ---- Kernels.

const std::vector<size_t> kDims = {1, 3, 8, 15, 16, 17, 31, 33, 64, 100, 784};

struct Rows {
  RowType type;
  size_t dim;
  size_t stride_bytes;
  std::vector<uint8_t> bytes;
  std::vector<float> offset, scale;  // SQ8
  float value(size_t r, size_t i) const {
    const uint8_t* row = bytes.data() + r * stride_bytes;
    switch (type) {
      case RowType::kU8: return row[i];
      case RowType::kSq8: return sq8_decode(row[i], offset[i], scale[i]);
      case RowType::kF16:
      case RowType::kBF16: {
        uint16_t h;
        std::memcpy(&h, row + 2 * i, 2);
        return type == RowType::kF16 ? f16_to_f32(h) : bf16_to_f32(h);
      }
    }
    return 0;
  }
};

Rows make_rows(RowType type, size_t n, size_t dim, std::mt19937& rng) {
  Rows rows{type, dim, dim * row_type_bytes(type) + 5, {}, {}, {}};
  rows.bytes.assign(n * rows.stride_bytes, 0xAB);  // padding bytes: junk the kernel must not read
  std::normal_distribution<float> normal(0.0f, 2.0f);
  std::uniform_int_distribution<int> byte(0, 255);
  // Dyadic offsets and power-of-two scales: offset + scale * code is exact
  // with or without a fused multiply-add, so a query can equal a decoded
  // value exactly (Hamming) whichever way it was decoded.
  for (size_t i = 0; i < dim; ++i) {
    rows.offset.push_back(std::round(normal(rng) * 4.0f) / 4.0f);
    rows.scale.push_back(i % 5 == 0 ? 0.0f : std::ldexp(1.0f, -static_cast<int>(i % 4 + 3)));
  }
  for (size_t r = 0; r < n; ++r) {
    uint8_t* row = rows.bytes.data() + r * rows.stride_bytes;
    for (size_t i = 0; i < dim; ++i) {
      if (type == RowType::kU8 || type == RowType::kSq8) {
        row[i] = static_cast<uint8_t>(byte(rng));
      } else {
        // Small integers now and then, so Hamming sees equal values.
        const float v = (r + i) % 3 == 0 ? float(byte(rng) % 4) : normal(rng);
        const uint16_t h = type == RowType::kF16 ? f32_to_f16(v) : f32_to_bf16(v);
        std::memcpy(row + 2 * i, &h, 2);
      }
    }
  }
  return rows;
}

// Queries that sometimes equal the row values (for Hamming).
std::vector<float> make_query(const Rows& rows, size_t dim, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 2.0f);
  std::vector<float> q(dim);
  for (size_t i = 0; i < dim; ++i) q[i] = (i % 4 == 0) ? rows.value(0, i) : normal(rng) * 30.0f;
  return q;
}

double reference(TypedOp op, const float* q, const Rows& rows, size_t r, double* magnitude) {
  double sum = 0, mag = 0;
  for (size_t i = 0; i < rows.dim; ++i) {
    const double a = q[i], b = rows.value(r, i);
    double t = 0;
    switch (op) {
      case TypedOp::kL2Squared: t = (a - b) * (a - b); break;
      case TypedOp::kDot: t = a * b; break;
      case TypedOp::kL1: t = std::fabs(a - b); break;
      case TypedOp::kHamming: t = a != b ? 1 : 0; break;
    }
    sum += t;
    mag += std::fabs(t);
  }
  *magnitude = mag;
  return sum;
}

TEST_CASE("typed tables name the targets they were built for, best first") {
  const auto tables = runnable_typed_kernels();
  const auto supported = hwy::SupportedAndGeneratedTargets();
  REQUIRE(tables.size() == supported.size());
  for (size_t i = 0; i < tables.size(); ++i) {
    CHECK(std::string(tables[i]->target) == hwy::TargetName(supported[i]));
  }
  CHECK(std::string(active_typed_kernels().target) == tables.front()->target);
}

TEST_CASE("typed kernels match a double reference for every row type, metric and dim") {
  std::mt19937 rng(5);
  for (const TypedKernels* k : runnable_typed_kernels()) {
    const std::string target_name = k->target;
    CAPTURE(target_name);
    for (RowType type : kRowTypesList) {
      CAPTURE(type_name(type));
      for (size_t dim : kDims) {
        CAPTURE(dim);
        const size_t n = 9;
        Rows rows = make_rows(type, n, dim, rng);
        auto q = make_query(rows, dim, rng);
        const TypedQuery tq{q.data(), nullptr, rows.offset.data(), rows.scale.data()};
        for (TypedOp op : kOps) {
          CAPTURE(op_name(op));
          std::vector<float> out(n), gathered(n);
          k->rows[size_t(type)][size_t(op)](tq, rows.bytes.data(), rows.stride_bytes, nullptr, n,
                                            dim, out.data());
          std::vector<uint32_t> slots;
          for (size_t r = 0; r < n; ++r) slots.push_back(static_cast<uint32_t>(n - 1 - r));
          k->rows[size_t(type)][size_t(op)](tq, rows.bytes.data(), rows.stride_bytes, slots.data(),
                                            n, dim, gathered.data());
          for (size_t r = 0; r < n; ++r) {
            double magnitude = 0;
            const double want = reference(op, q.data(), rows, r, &magnitude);
            // Decoding is exact (SQ8 too, with these offsets and scales);
            // then each term and the float sum round.
            const double bound = (2.0 * double(dim) + 8.0) * kUnitRoundoff * magnitude * 2 + 1e-30;
            CHECK_MESSAGE(std::fabs(out[r] - want) <= bound, "row ", r, " got ", out[r], " want ",
                          want);
            // The same row in another position and call: the same bits.
            CHECK(std::memcmp(&out[r], &gathered[n - 1 - r], sizeof(float)) == 0);
          }
        }
      }
    }
  }
}

TEST_CASE("typed decoders reproduce the scalar decoders") {
  std::mt19937 rng(6);
  for (const TypedKernels* k : runnable_typed_kernels()) {
    const std::string target_name = k->target;
    CAPTURE(target_name);
    for (RowType type : kRowTypesList) {
      for (size_t dim : kDims) {
        Rows rows = make_rows(type, 1, dim, rng);
        std::vector<float> out(dim);
        k->decode[size_t(type)](rows.bytes.data(), dim, rows.offset.data(), rows.scale.data(),
                                out.data());
        for (size_t i = 0; i < dim; ++i) {
          const float want = rows.value(0, i);
          CHECK(out[i] == want);
        }
      }
    }
  }
}

TEST_CASE("u8 x u8 integer kernels are exact, past the int32 flush") {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> byte(0, 255);
  for (const TypedKernels* k : runnable_typed_kernels()) {
    const std::string target_name = k->target;
    CAPTURE(target_name);
    std::vector<size_t> dims = kDims;
    dims.push_back(9000);  // crosses the 4096-element flush twice
    for (size_t dim : dims) {
      CAPTURE(dim);
      const size_t n = 5;
      std::vector<uint8_t> rows(n * dim), q(dim);
      for (auto& v : rows) v = static_cast<uint8_t>(byte(rng));
      for (auto& v : q) v = static_cast<uint8_t>(byte(rng));
      // Row 0 is the worst case for every sum: all 255 against all 0.
      std::fill(q.begin(), q.end(), uint8_t{0});
      std::fill(rows.begin(), rows.begin() + dim, uint8_t{255});
      for (size_t i = 0; i < dim; i += 3) q[i] = static_cast<uint8_t>(byte(rng));
      std::vector<float> qf(q.begin(), q.end());
      const TypedQuery tq{qf.data(), q.data(), nullptr, nullptr};
      for (TypedOp op : kOps) {
        CAPTURE(op_name(op));
        std::vector<float> out(n);
        k->u8_exact[size_t(op)](tq, rows.data(), dim, nullptr, n, dim, out.data());
        for (size_t r = 0; r < n; ++r) {
          int64_t want = 0;
          for (size_t i = 0; i < dim; ++i) {
            const int64_t a = q[i], b = rows[r * dim + i];
            switch (op) {
              case TypedOp::kL2Squared: want += (a - b) * (a - b); break;
              case TypedOp::kDot: want += a * b; break;
              case TypedOp::kL1: want += a > b ? a - b : b - a; break;
              case TypedOp::kHamming: want += a != b; break;
            }
          }
          CHECK(out[r] == static_cast<float>(want));
        }
      }
    }
  }
}

TEST_CASE("typed kernels never read past the end of a row") {
  std::mt19937 rng(8);
  for (const TypedKernels* k : runnable_typed_kernels()) {
    for (RowType type : kRowTypesList) {
      for (size_t dim : {size_t{1}, size_t{17}, size_t{100}}) {
        Rows rows = make_rows(type, 1, dim, rng);
        const size_t bytes = dim * row_type_bytes(type);
        auto region = util::GuardedRegion::create(bytes);
        REQUIRE(region.ok());
        uint8_t* row = region->end() - bytes;
        std::memcpy(row, rows.bytes.data(), bytes);
        auto q = make_query(rows, dim, rng);
        std::vector<uint8_t> qb(dim, 3);
        const TypedQuery tq{q.data(), qb.data(), rows.offset.data(), rows.scale.data()};
        float out = 0;
        std::vector<float> decoded(dim);
        for (TypedOp op : kOps) {
          k->rows[size_t(type)][size_t(op)](tq, row, bytes, nullptr, 1, dim, &out);
          if (type == RowType::kU8) k->u8_exact[size_t(op)](tq, row, bytes, nullptr, 1, dim, &out);
        }
        k->decode[size_t(type)](row, dim, rows.offset.data(), rows.scale.data(), decoded.data());
        CHECK(std::isfinite(out));
      }
    }
  }
}

}  // namespace
}  // namespace iqdb::kernels
