#include "index/scorer.h"

namespace iqdb::index {

QueryScorer::QueryScorer(const VectorStore& store, const float* query)
    : store_(store),
      kernels_(kernels::active_kernels()),
      query_(query),
      dim_(store.dim()),
      metric_(store.metric()),
      query_inv_norm_(0.0f) {
  if (metric_ == Metric::kCosine) {
    float sq = kernels_.squared_norm(query, query, dim_);
    query_inv_norm_ = sq > 0 ? 1.0f / std::sqrt(sq) : 0.0f;
  }
}

void QueryScorer::finish_cosine(const uint32_t* slots, uint32_t first, size_t n,
                                float* out) const noexcept {
  const float* inv = store_.inv_norms();
  for (size_t i = 0; i < n; ++i) {
    uint32_t slot = slots ? slots[i] : first + static_cast<uint32_t>(i);
    out[i] = kernels::cosine_from_dot(out[i], query_inv_norm_, inv[slot]);
  }
}

void QueryScorer::gather(const uint32_t* slots, size_t n, float* out) const noexcept {
  const float* base = store_.rows_base();
  size_t stride = store_.stride_floats();
  switch (metric_) {
    case Metric::kCosine:
      kernels_.dot_gather(query_, base, stride, slots, n, dim_, out);
      finish_cosine(slots, 0, n, out);
      return;
    case Metric::kDot:
      kernels_.dot_gather(query_, base, stride, slots, n, dim_, out);
      for (size_t i = 0; i < n; ++i) out[i] = -out[i];
      return;
    case Metric::kL2: kernels_.l2_squared_gather(query_, base, stride, slots, n, dim_, out); return;
    case Metric::kL1: kernels_.l1_gather(query_, base, stride, slots, n, dim_, out); return;
    case Metric::kHamming: kernels_.hamming_gather(query_, base, stride, slots, n, dim_, out); return;
  }
}

void QueryScorer::block(uint32_t first, size_t n, float* out) const noexcept {
  const float* rows = store_.row(first);
  size_t stride = store_.stride_floats();
  switch (metric_) {
    case Metric::kCosine:
      kernels_.dot_block(query_, rows, stride, n, dim_, out);
      finish_cosine(nullptr, first, n, out);
      return;
    case Metric::kDot:
      kernels_.dot_block(query_, rows, stride, n, dim_, out);
      for (size_t i = 0; i < n; ++i) out[i] = -out[i];
      return;
    case Metric::kL2: kernels_.l2_squared_block(query_, rows, stride, n, dim_, out); return;
    case Metric::kL1: kernels_.l1_block(query_, rows, stride, n, dim_, out); return;
    case Metric::kHamming: kernels_.hamming_block(query_, rows, stride, n, dim_, out); return;
  }
}

}  // namespace iqdb::index
