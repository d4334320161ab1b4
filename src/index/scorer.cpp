#include "index/scorer.h"

#include <cmath>

namespace iqdb::index {
namespace {

kernels::TypedOp typed_op(Metric metric) {
  switch (metric) {
    case Metric::kL2: return kernels::TypedOp::kL2Squared;
    case Metric::kDot:
    case Metric::kCosine: return kernels::TypedOp::kDot;
    case Metric::kL1: return kernels::TypedOp::kL1;
    case Metric::kHamming: return kernels::TypedOp::kHamming;
  }
  return kernels::TypedOp::kL2Squared;
}

bool whole_bytes(const float* v, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (!(v[i] >= 0.0f && v[i] <= 255.0f && v[i] == std::floor(v[i]))) return false;
  }
  return true;
}

}  // namespace

QueryScorer::QueryScorer(const VectorStore& store, const float* query, RowSource source)
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
  on_codes_ = store.has_codes() && (source == RowSource::kCodes || !store.has_f32_rows());
  if (!on_codes_) return;
  const kernels::TypedKernels& typed = kernels::active_typed_kernels();
  const auto op = static_cast<size_t>(typed_op(metric_));
  typed_query_ = {query, nullptr, store.sq8_offset(), store.sq8_scale()};
  if (store.code_type() == kernels::RowType::kU8 && store.codes_are_exact() &&
      whole_bytes(query, dim_)) {
    query_bytes_.assign(query, query + dim_);  // whole numbers: exact conversions
    typed_query_.bytes = query_bytes_.data();
    codes_fn_ = typed.u8_exact[op];
  } else {
    codes_fn_ = typed.rows[static_cast<size_t>(store.code_type())][op];
  }
}

QueryScorer::QueryScorer(const QueryScorer& other)
    : store_(other.store_),
      kernels_(other.kernels_),
      query_(other.query_),
      dim_(other.dim_),
      metric_(other.metric_),
      query_inv_norm_(other.query_inv_norm_),
      on_codes_(other.on_codes_),
      codes_fn_(other.codes_fn_),
      typed_query_(other.typed_query_),
      query_bytes_(other.query_bytes_) {
  if (typed_query_.bytes != nullptr) typed_query_.bytes = query_bytes_.data();
}

void QueryScorer::codes(const uint32_t* slots, uint32_t first, size_t n,
                        float* out) const noexcept {
  const uint8_t* base = slots ? store_.codes_base() : store_.code_row(first);
  codes_fn_(typed_query_, base, store_.code_stride_bytes(), slots, n, dim_, out);
  switch (metric_) {
    case Metric::kCosine: finish_cosine(slots, first, n, out); return;
    case Metric::kDot:
      for (size_t i = 0; i < n; ++i) out[i] = -out[i];
      return;
    case Metric::kL2:
    case Metric::kL1:
    case Metric::kHamming: return;
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
  if (on_codes_) return codes(slots, 0, n, out);
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
    case Metric::kHamming:
      kernels_.hamming_gather(query_, base, stride, slots, n, dim_, out);
      return;
  }
}

void QueryScorer::block(uint32_t first, size_t n, float* out) const noexcept {
  if (on_codes_) return codes(nullptr, first, n, out);
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
