// QueryScorer: distances from one query to stored rows, for one metric.
//
// Indices rank candidates by a "ranking distance" that orders exactly like
// the user-visible distance but is cheaper: squared L2 instead of L2. Call
// to_user_distance() on the few values that are returned.
//
// The kernels are chosen once (the active Highway target) and called
// through function pointers: no per-call dispatch.
//
// Thread-safety: a scorer is bound to one query and one store; use one per
// thread. Construction is cheap (one norm computation).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "iqdb/types.h"
#include "index/vector_store.h"
#include "kernels/distance.h"

namespace iqdb::index {

class QueryScorer {
 public:
  // `query` must hold store.dim() floats and outlive the scorer.
  QueryScorer(const VectorStore& store, const float* query);

  // Ranking distance to the row of `slot`.
  float operator()(uint32_t slot) const noexcept {
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
  void gather(const uint32_t* slots, size_t n, float* out) const noexcept;
  // Ranking distances to the n consecutive slots first..first+n-1.
  void block(uint32_t first, size_t n, float* out) const noexcept;

  // The distance a user sees for a ranking distance.
  float to_user_distance(float ranking) const noexcept {
    return metric_ == Metric::kL2 ? std::sqrt(std::max(ranking, 0.0f)) : ranking;
  }

  const float* query() const noexcept { return query_; }
  const VectorStore& store() const noexcept { return store_; }

 private:
  void finish_cosine(const uint32_t* slots, uint32_t first, size_t n, float* out) const noexcept;

  const VectorStore& store_;
  const kernels::DistanceKernels& kernels_;
  const float* query_;
  size_t dim_;
  Metric metric_;
  float query_inv_norm_;
};

}  // namespace iqdb::index
