// QueryScorer: distances from one query to stored rows, for one metric.
//
// Indices rank candidates by a "ranking distance" that orders exactly like
// the user-visible distance but is cheaper: squared L2 instead of L2. Call
// to_user_distance() on the few values that are returned.
//
// Which representation it reads: the f32 rows when the store keeps them
// (RowSource::kBest), else the code rows (u8 exactly; f16, bf16 and SQ8 as
// their decoded approximation). RowSource::kCodes asks for the codes even
// when f32 rows exist: the cheap first pass of a lossy store, reranked on
// kBest. For u8 rows and a query of whole numbers 0..255 the u8 x u8 integer
// kernels are used (exact sums).
//
// The kernels are chosen once (the active Highway target) and called
// through function pointers: no per-call dispatch.
//
// Thread-safety: a scorer is bound to one query and one store; use one per
// thread. Construction is cheap (one norm computation; a dim-byte copy of
// the query for u8 rows).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "iqdb/types.h"
#include "index/vector_store.h"
#include "kernels/distance.h"
#include "kernels/typed.h"

namespace iqdb::index {

enum class RowSource : uint8_t {
  kBest,   // f32 rows when kept, else codes
  kCodes,  // codes when present, else f32 rows
};

class QueryScorer {
 public:
  // `query` must hold store.dim() floats and outlive the scorer.
  QueryScorer(const VectorStore& store, const float* query, RowSource source = RowSource::kBest);
  // A copy scores with its own copy of the query bytes (u8 rows).
  QueryScorer(const QueryScorer& other);
  QueryScorer(QueryScorer&&) noexcept = default;

  // Ranking distance to the row of `slot`.
  float operator()(uint32_t slot) const noexcept {
    if (on_codes_) {
      float d;
      codes(&slot, 0, 1, &d);
      return d;
    }
    const float* row = store_.row(slot);
    switch (metric_) {
      case Metric::kCosine:
        return kernels::cosine_from_dot(kernels_.dot(query_, row, dim_), query_inv_norm_,
                                        store_.inv_norm(slot));
      case Metric::kDot: return -kernels_.dot(query_, row, dim_);
      case Metric::kL2: return kernels_.l2_squared(query_, row, dim_);
      case Metric::kL1: return kernels_.l1(query_, row, dim_);
      case Metric::kHamming: return kernels_.hamming(query_, row, dim_);
    }
    return 0.0f;
  }

  // Ranking distances to n slots at once (shares query loads, prefetches).
  // Position-independent: a slot's distance is the same bits whichever
  // call, list or position scores it (kernels/distance.h, kernels/typed.h),
  // so two exact searches (one query at a time, or batched with a recheck)
  // rank the same rows identically, ties included. operator() may round
  // differently.
  void gather(const uint32_t* slots, size_t n, float* out) const noexcept;
  // Ranking distances to the n consecutive slots first..first+n-1 (same
  // guarantee as gather).
  void block(uint32_t first, size_t n, float* out) const noexcept;

  // The distance a user sees for a ranking distance.
  float to_user_distance(float ranking) const noexcept {
    return metric_ == Metric::kL2 ? std::sqrt(std::max(ranking, 0.0f)) : ranking;
  }

  // For indices that keep their own copies of code rows (IVF lists): the
  // raw kernel values (squared L2, dot, L1 or Hamming, before the cosine and
  // dot finishing) for code rows laid out code_stride_bytes() apart from
  // `base`, the rows at `positions` (null: the first n). Requires on_codes().
  void raw_code_rows(const uint8_t* base, const uint32_t* positions, size_t n,
                     float* out) const noexcept {
    codes_fn_(typed_query_, base, store_.code_stride_bytes(), positions, n, dim_, out);
  }

  const float* query() const noexcept { return query_; }
  const VectorStore& store() const noexcept { return store_; }
  // True when distances come from code rows rather than f32 rows.
  bool on_codes() const noexcept { return on_codes_; }
  // True when on codes of a lossy type: distances are approximations.
  bool approximate() const noexcept { return on_codes_ && !store_.codes_are_exact(); }
  // 1/|q| as the cosine distances use it (0 for other metrics and for a
  // zero query).
  float query_inv_norm() const noexcept { return query_inv_norm_; }

 private:
  void finish_cosine(const uint32_t* slots, uint32_t first, size_t n, float* out) const noexcept;
  // Distances on code rows: slots (or first.. when null), finished per metric.
  void codes(const uint32_t* slots, uint32_t first, size_t n, float* out) const noexcept;

  const VectorStore& store_;
  const kernels::DistanceKernels& kernels_;
  const float* query_;
  size_t dim_;
  Metric metric_;
  float query_inv_norm_;
  bool on_codes_ = false;
  kernels::TypedRowsFn codes_fn_ = nullptr;
  kernels::TypedQuery typed_query_{};
  std::vector<uint8_t> query_bytes_;  // u8 rows and a whole-number query
};

}  // namespace iqdb::index
