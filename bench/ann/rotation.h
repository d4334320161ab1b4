// A fixed random rotation of R^dim: the benchmark's non-integer variant of
// a dataset. An orthogonal matrix keeps every distance (up to float
// rounding), so the neighbours stay the same problem, while the values stop
// being whole numbers and the per-dimension structure (empty border pixels,
// 8-bit values) that some encodings profit from is spread over every
// dimension.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace iqdb::bench {

// The seed of the rotation every iqdb-ann run uses, so runs compare.
inline constexpr uint64_t kRotationSeed = 0x1D5EED;

class Rotation {
 public:
  // A Haar-random orthogonal matrix: Gram-Schmidt (twice, in double) on the
  // rows of a seeded Gaussian matrix.
  static Rotation random(size_t dim, uint64_t seed);

  size_t dim() const { return dim_; }
  const std::vector<float>& matrix() const { return q_; }  // row-major dim x dim
  // x <- Q x for n rows of dim floats, on `threads` threads, with the
  // register-blocked dot-product kernel of kernels/gemm.h.
  void apply_in_place(float* rows, size_t n, size_t threads) const;

 private:
  size_t dim_ = 0;
  std::vector<float> q_;
};

}  // namespace iqdb::bench
