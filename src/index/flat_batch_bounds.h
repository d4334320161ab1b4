// Internal to flat_batch.cpp: the rounding bounds that make the expanded
// dot-product form of a distance safe for exact search, and the per-query
// candidate set they drive.
//
// For each (query, row) pair the panel kernel gives a dot product g; the
// exact search ranks by flat_search's value d (QueryScorer::exact_*). Both
// approximate the true distance D, so |form(g) - d| <= e with e from the
// standard rounding model (margin_factor below), and
//   lower = form(g) - e <= d <= form(g) + e = upper.
// A row can be among the k nearest only if its lower bound is at most the
// k-th smallest upper bound seen (tau); the rest are dropped unscored.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "iqdb/types.h"

namespace iqdb::index::flat_batch {

inline constexpr float kInf = std::numeric_limits<float>::infinity();

// Which dot-product form a metric takes.
enum class Form { kL2, kDot, kCosine };

inline Form form_of(Metric metric) {
  return metric == Metric::kL2 ? Form::kL2 : metric == Metric::kDot ? Form::kDot : Form::kCosine;
}

// The relative rounding bound m of the expanded form against flat_search's
// arithmetic, worst case (every step rounding the same way), from
// fl(a op b) = (a op b)(1 + d), |d| <= u = 2^-24:
//   - the panel kernel's dot product: <= 2 dim u sum|q_k x_k| (two roundings
//     per step without FMA);
//   - flat_search's kernel: L2 terms (q - x)^2 each within 3u, summed within
//     dim u; dot within 2 dim u sum|q_k x_k|;
//   - |q|^2, |x|^2 rounded once from double; a few roundings assembling the
//     bounds.
// With sum|q_k x_k| <= |q||x| <= (|q|^2 + |x|^2) / 2 and the L2 distance
// <= 2(|q|^2 + |x|^2), both errors together stay below (4 dim + 32) u times
// (|q|^2 + |x|^2) for L2, |q||x| for dot, and 1 for cosine. The factor 1.25
// absorbs second-order terms (gamma_n = n u / (1 - n u)).
inline double margin_factor(size_t dim) {
  return (4.0 * double(dim) + 64.0) * (1.0 / (1 << 24)) * 1.25;
}

// Bounds of one pair. Per query: |q|^2 (L2, dot) or 1/|q| (cosine); per
// row: |x|^2 (L2, dot) or 1/|x| (cosine); m: margin_factor.
struct PairBounds {
  float lower, upper;
};
inline PairBounds pair_bounds(Form form, float dot, float query_term, float row_term, float m) {
  switch (form) {
    case Form::kL2: {
      const float d = (query_term + row_term) - 2.0f * dot;
      const float e = m * (query_term + row_term);
      return {d - e, d + e};
    }
    case Form::kDot: {
      const float e = m * std::sqrt(query_term) * std::sqrt(row_term);
      return {-dot - e, -dot + e};
    }
    case Form::kCosine: {
      const float d = 1.0f - dot * query_term * row_term;
      return {d - m, d + m};
    }
  }
  return {-kInf, kInf};
}

// The same test as pair_bounds(...).lower <= tau, written as the panel
// kernel's filter q_add[j] + row_add[r] + dot * (q_mul[j] * row_mul[r]) with
// twice the margin (so the kernel's own roundings can only let more rows
// through, never fewer). Dot uses m|q||x| <= m(|q|^2 + |x|^2) / 2.
struct FilterTerms {
  float add, mul;
};
inline FilterTerms query_filter_terms(Form form, float query_term, float m) {
  switch (form) {
    case Form::kL2: return {query_term * (1.0f - 2.0f * m), -2.0f};
    case Form::kDot: return {-m * query_term, -1.0f};
    case Form::kCosine: return {1.0f - 2.0f * m, -query_term};
  }
  return {0.0f, 0.0f};
}
inline FilterTerms row_filter_terms(Form form, float row_term, float m) {
  switch (form) {
    case Form::kL2: return {row_term * (1.0f - 2.0f * m), 1.0f};
    case Form::kDot: return {-m * row_term, 1.0f};
    case Form::kCosine: return {0.0f, row_term};
  }
  return {0.0f, 0.0f};
}

// A row that may still be among a query's k nearest.
struct Survivor {
  float lower;  // lower bound of its ranking distance
  uint32_t slot;
};

// One query's candidates within one task: the k best upper bounds (their
// worst, tau, bounds the k-th exact distance from above) and every row whose
// lower bound was not above tau when it was seen.
class QueryCandidates {
 public:
  explicit QueryCandidates(size_t k) : k_(k), prune_at_(2 * k + 64) {}

  float tau() const noexcept { return tau_; }

  void offer(float lower, float upper, uint32_t slot) {
    if (!(upper <= kInf)) upper = kInf;  // NaN never tightens tau
    if (heap_.size() < k_) {
      heap_.push_back(upper);
      std::push_heap(heap_.begin(), heap_.end());
      if (heap_.size() == k_) tau_ = heap_.front();
    } else if (upper < heap_.front()) {
      std::pop_heap(heap_.begin(), heap_.end());
      heap_.back() = upper;
      std::push_heap(heap_.begin(), heap_.end());
      tau_ = heap_.front();
    }
    survivors_.push_back({lower, slot});
    if (survivors_.size() >= prune_at_) prune();
  }

  const std::vector<float>& upper_bounds() const noexcept { return heap_; }
  const std::vector<Survivor>& survivors() const noexcept { return survivors_; }

 private:
  void prune() {
    const float tau = tau_;
    std::erase_if(survivors_, [tau](const Survivor& s) { return s.lower > tau; });
    prune_at_ = std::max(2 * survivors_.size(), 2 * k_ + 64);
  }

  size_t k_;
  size_t prune_at_;
  std::vector<float> heap_;  // max-heap of upper bounds, at most k
  float tau_ = kInf;
  std::vector<Survivor> survivors_;
};

}  // namespace iqdb::index::flat_batch
