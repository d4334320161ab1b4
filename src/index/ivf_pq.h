// ProductQuantizer: the PQ codebooks of IVF-PQ and the code operations on
// them (train, encode, decode, per-query lookup tables).
//
// A vector of code_dim() = num_sub * dsub floats is cut into num_sub
// subvectors of dsub floats; each is replaced by the index of its nearest
// codeword (ksub = 16 for 4-bit codes, 256 for 8-bit codes). The IVF index
// encodes residuals (row minus its list centroid), padded with zeros from
// dim to code_dim when dsub does not divide dim. Codebooks are stored in
// the transposed layout of kernels/pq.h.
//
// Thread-safety: const methods may run concurrently; train() and
// set_codebooks() need exclusive access.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "iqdb/config.h"
#include "iqdb/status.h"

namespace iqdb::index::ivf {

// The subquantizer count above which PQ is refused (lookup tables and the
// uint16 fast-scan sums stop being meaningful well before).
inline constexpr size_t kMaxSubquantizers = 8192;

struct PqShape {
  size_t num_sub = 0;
  size_t dsub = 0;
  size_t ksub = 0;
  size_t code_dim() const { return num_sub * dsub; }
};

// The shape IvfConfig asks for on `dim`-dimensional vectors.
// pq_subvectors 0 picks 2 dimensions per 4-bit subquantizer and 4 per 8-bit
// one (more when dim > 2048 or 4096, so that at most 1024 subquantizers
// remain), padding dim up to a multiple. An explicit count must divide dim.
// kInvalidArgument for a count that does not divide dim or exceeds
// kMaxSubquantizers; requires config.pq != kNone.
Result<PqShape> pq_shape(const IvfConfig& config, size_t dim);

class ProductQuantizer {
 public:
  ProductQuantizer() = default;
  explicit ProductQuantizer(const PqShape& shape) : shape_(shape) {}

  const PqShape& shape() const noexcept { return shape_; }
  size_t num_sub() const noexcept { return shape_.num_sub; }
  size_t dsub() const noexcept { return shape_.dsub; }
  size_t ksub() const noexcept { return shape_.ksub; }
  size_t code_dim() const noexcept { return shape_.code_dim(); }
  bool trained() const noexcept { return !codebooks_.empty(); }

  // Trains the codebooks on n vectors (x + i * stride, code_dim floats
  // each): one k-means per subquantizer, in parallel.
  void train(const float* x, size_t stride, size_t n, size_t iterations, uint64_t seed);

  // num_sub codes (one byte each, < ksub) of one code_dim vector.
  void encode(const float* x, uint8_t* codes) const;
  // The reconstruction sum of codewords (code_dim floats).
  void decode(const uint8_t* codes, float* out) const;

  // Lookup tables, num_sub rows of ksub floats: squared L2 distance of the
  // subvectors of (x - center) to each codeword (center may be null), or
  // minus their dot product with x.
  void l2_table(const float* x, const float* center, float* table) const;
  void neg_dot_table(const float* x, float* table) const;

  // num_sub * dsub * ksub floats.
  std::span<const float> codebooks() const noexcept { return codebooks_; }
  // Replaces the codebooks with saved ones (little-endian f32). kCorruption
  // when the size is wrong or a value is not finite.
  Status set_codebooks(std::span<const uint8_t> bytes);
  size_t memory_bytes() const noexcept { return codebooks_.size() * sizeof(float); }

 private:
  PqShape shape_;
  std::vector<float> codebooks_;
};

}  // namespace iqdb::index::ivf
