// Sq8Codes: the HNSW index's 8-bit copy of the stored vectors, used to walk
// the graph with a quarter of the f32 memory traffic and integer kernels
// (kernels/sq8.h). It is derived data, owned by the index: the f32 rows in
// the VectorStore stay authoritative, and searches rerank their shortlist
// with exact f32 distances.
//
// Grids (one common step `scale` for all dimensions, so code differences and
// code products are value differences and products up to one constant, and
// the build's heuristic can compare code-to-code with query-to-code
// distances):
//   L2, L1      x_i ~ min_i + scale * c_i, c_i in 0..255 (per-dimension min)
//   dot         x_i ~ scale * c_i, c_i in -127..127
//   cosine      the same on x / |x|
//   Hamming     not supported (equality does not survive quantisation)
// Values outside the trained range clamp; retrain() re-fits the grid.
//
// "Code distances" rank like the true distances (smaller is nearer): sum of
// squared code differences (L2), of absolute differences (L1), or the
// negated code dot product (dot, cosine).
//
// Thread-safety: train()/reserve() need exclusive access (or, for reserve,
// the caller's growth lock); encode() of distinct slots may run
// concurrently; reads of a slot's codes are safe once the slot is published.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "iqdb/status.h"
#include "iqdb/types.h"
#include "index/vector_store.h"
#include "kernels/sq8.h"
#include "kernels/typed.h"
#include "util/arena.h"

namespace iqdb::index::hnsw {

struct Cand;

class Sq8Codes {
 public:
  enum class Family : uint8_t { kNone = 0, kUnsigned = 1, kSigned = 2 };

  // The grid family a metric uses; kNone for Hamming.
  static Family family_for(Metric metric) noexcept;

  Sq8Codes(size_t dim, Metric metric);
  Sq8Codes(Sq8Codes&&) noexcept = default;

  Family family() const noexcept { return family_; }
  bool supported() const noexcept { return family_ != Family::kNone; }
  size_t dim() const noexcept { return dim_; }
  // Bytes between consecutive code rows (dim rounded up to 64).
  size_t stride_bytes() const noexcept { return stride_; }
  // Dimensions the kernels are called with: dim rounded up to 32 (the pad
  // is zero in rows and queries, so it adds nothing).
  size_t kernel_dim() const noexcept { return kernel_dim_; }
  float scale() const noexcept { return scale_; }

  // Fits the grid to these rows (f32 from the store; non-finite values are
  // ignored). Does not re-encode; call encode() for every slot afterwards.
  void train(const VectorStore& store, std::span<const uint32_t> sample);
  // Makes code rows exist for slots [0, slots).
  Status reserve(uint32_t slots);
  // Writes the codes of the slot's current row (whole stride, pad zeroed).
  void encode(const VectorStore& store, uint32_t slot) noexcept;

  const uint8_t* codes(uint32_t slot) const noexcept { return base() + size_t{slot} * stride_; }
  const uint8_t* base() const noexcept {
    return borrowed_ != nullptr ? borrowed_->codes_base() : base_;
  }

  // Uses the u8 code rows of a VectorStorage::u8() store as unsigned codes
  // (offset 0, step 1: exact) instead of keeping a copy. L2 and L1 only.
  // Nothing to train or encode afterwards; rows are read from the store.
  void borrow(const VectorStore& store) noexcept;
  bool borrowed() const noexcept { return borrowed_ != nullptr; }

  // Query codes for a query vector: kernel_dim() int16 values, pad zeroed.
  // Returns the query's rounding error radius (see rerank_candidates).
  float encode_query(const float* query, int16_t* out) const noexcept;
  // A stored row's codes as query codes (for build-time searches), so
  // query-to-code and code-to-code distances agree exactly.
  void widen(uint32_t slot, int16_t* out) const noexcept;

  // Code distance between two stored slots.
  float distance(uint32_t a, uint32_t b) const noexcept {
    const float raw = codes_fn_(codes(a), codes(b), kernel_dim_);
    return family_ == Family::kSigned ? -raw : raw;
  }
  // Code distances from query codes to n slots.
  void distances(const int16_t* q, const uint32_t* slots, size_t n, float* out) const noexcept {
    gather_fn_(q, base(), stride_, slots, n, kernel_dim_, out);
    if (family_ == Family::kSigned) {
      for (size_t i = 0; i < n; ++i) out[i] = -out[i];
    }
  }
  // As distances(), but an entry may be any value > bound instead of its
  // exact distance once it is known to exceed `bound` (L2 and L1: partial
  // sums only grow, so a row can be abandoned part way).
  void distances_within(const int16_t* q, const uint32_t* slots, size_t n, float bound,
                        float* out) const noexcept {
    if (bounded_fn_ == nullptr) {
      distances(q, slots, n, out);
      return;
    }
    bounded_fn_(q, base(), stride_, slots, n, kernel_dim_, bound, out);
  }
  float distance(const int16_t* q, uint32_t slot) const noexcept {
    const float raw = query_fn_(q, codes(slot), kernel_dim_);
    return family_ == Family::kSigned ? -raw : raw;
  }

  // Which of `found` (sorted by code distance) can still be among the true
  // k nearest: writes their indices in `found` to `out` (room for
  // found.size()) in order and returns how many. Each row keeps its rounding error radius r (the
  // L2 or L1 norm of value/scale - code, clamping included) and the query
  // has one too (r_q), so a true distance T (in steps) and its code distance
  // S satisfy |T - S| <= r + r_q. A candidate is dropped when S - r - r_q
  // exceeds the largest S + r + r_q among the k nearest by code distance.
  // Dot and cosine keep every candidate.
  size_t rerank_candidates(std::span<const Cand> found, size_t k, float query_radius,
                           uint32_t* out) const noexcept;

  // The grid is whole steps on whole-number offsets (unsigned codes, scale
  // 1: e.g. pixel values): a row with radius 0 is then stored exactly, and
  // for a query with radius 0 its code distance is its true distance.
  bool exact_grid() const noexcept { return exact_grid_; }
  bool exact_row(uint32_t slot) const noexcept { return exact_grid_ && radius(slot) == 0.0f; }
  // The ranking distance (QueryScorer units) of an L2 or L1 code distance.
  float ranking(float code_distance) const noexcept;
  // A lower bound, in ranking units, on the true distance of a slot whose
  // code distance from a query of rounding radius `query_radius` is
  // `code_distance` (the triangle inequality of rerank_candidates, shrunk a
  // little against float rounding). -inf for dot and cosine: no bound.
  float ranking_lower_bound(float code_distance, uint32_t slot, float query_radius) const noexcept;
  // A tighter lower bound, in ranking units, on the true distance of `slot`
  // from the f32 query (dim values): the query's f32 distance to the row's
  // grid point (min + scale * code) less the row's rounding radius. The
  // query's rounding radius does not enter, at the price of reading the
  // code row once more. -inf for dot and cosine.
  float query_lower_bound(const float* query, uint32_t slot) const noexcept;

  // ---- Persistence: the grid parameters (the code rows are an arena).
  std::string params() const;
  // kCorruption when the bytes do not describe a valid grid for this dim.
  Status set_params(std::span<const uint8_t> bytes);
  std::span<const uint8_t> code_bytes(uint32_t slots) const noexcept {
    return {base_, base_ ? size_t{slots} * stride_ : 0};
  }
  std::span<const uint8_t> radius_bytes(uint32_t slots) const noexcept {
    return {reinterpret_cast<const uint8_t*>(radius_), radius_ ? size_t{slots} * sizeof(float) : 0};
  }
  float radius(uint32_t slot) const noexcept { return radius_ != nullptr ? radius_[slot] : 0.0f; }
  void adopt(util::Arena codes, util::Arena radii) noexcept;

  size_t memory_bytes(uint32_t slots) const noexcept {
    return base_ ? size_t{slots} * (stride_ + sizeof(float)) +
                       (min_.size() + steps_.size()) * sizeof(float)
                 : 0;
  }

 private:
  void bind_kernels() noexcept;
  // After scale_ or min_ changed: exact_grid_ and steps_.
  void grid_changed() noexcept;

  size_t dim_;
  Metric metric_;
  Family family_;
  size_t stride_;
  size_t kernel_dim_;
  std::vector<float> min_;    // unsigned family: per-dimension offset
  std::vector<float> steps_;  // unsigned family: scale_ for every dimension
  float scale_ = 1.0f;
  float inv_scale_ = 1.0f;
  bool exact_grid_ = false;
  util::Arena arena_;
  util::Arena radius_arena_;
  uint8_t* base_ = nullptr;
  float* radius_ = nullptr;  // per slot, see rerank_candidates; null: all 0
  const VectorStore* borrowed_ = nullptr;
  kernels::Sq8QueryFn query_fn_ = nullptr;
  kernels::Sq8CodesFn codes_fn_ = nullptr;
  kernels::Sq8GatherFn gather_fn_ = nullptr;
  kernels::Sq8QuantizeFn quantize_fn_ = nullptr;
  kernels::Sq8GatherBoundedFn bounded_fn_ = nullptr;  // null: dot/cosine
  kernels::TypedRowsFn grid_fn_ = nullptr;            // f32 query to grid points; null: dot/cosine
};

}  // namespace iqdb::index::hnsw
