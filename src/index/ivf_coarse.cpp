#include "index/ivf_coarse.h"

#include <algorithm>
#include <cmath>

#include "kernels/sq8.h"

namespace iqdb::index::ivf {

void CoarseCodes::build(const float* centroids, size_t stride, size_t k, size_t dim) {
  *this = CoarseCodes();
  if (k == 0 || dim == 0) return;
  std::vector<float> lo(dim, INFINITY), hi(dim, -INFINITY);
  for (size_t j = 0; j < k; ++j) {
    const float* c = centroids + j * stride;
    for (size_t d = 0; d < dim; ++d) {
      if (!std::isfinite(c[d])) return;
      lo[d] = std::min(lo[d], c[d]);
      hi[d] = std::max(hi[d], c[d]);
    }
  }
  float widest = 0;
  for (size_t d = 0; d < dim; ++d) widest = std::max(widest, hi[d] - lo[d]);
  if (!(widest > 0) || !std::isfinite(widest)) return;
  k_ = k;
  dim_ = dim;
  step_ = widest / 255.0f;
  inv_step_ = 1.0f / step_;
  offset_ = std::move(lo);
  codes_.resize(k * dim);
  for (size_t j = 0; j < k; ++j) {
    const float* c = centroids + j * stride;
    uint8_t* out = codes_.data() + j * dim;
    for (size_t d = 0; d < dim; ++d) {
      const float v = std::round((c[d] - offset_[d]) * inv_step_);
      out[d] = static_cast<uint8_t>(std::clamp(v, 0.0f, 255.0f));
    }
  }
}

bool CoarseCodes::l2_distances(const float* q, std::vector<int16_t>& query_codes,
                               float* out) const {
  if (codes_.empty()) return false;
  const kernels::Sq8Kernels& sq8 = kernels::active_sq8_kernels();
  query_codes.resize(dim_);
  float err[2];
  sq8.quantize(q, offset_.data(), inv_step_, dim_, kernels::kSq8QueryMin, kernels::kSq8QueryMax,
               query_codes.data(), err);
  // Rounding alone errs by at most half a step per dimension; more means
  // some codes clamped (or q is not finite) and the codes would misrank.
  if (!(err[0] <= 0.25f * static_cast<float>(dim_) + 1.0f)) return false;
  const float step2 = step_ * step_;
  for (size_t j = 0; j < k_; ++j) {
    out[j] = step2 * sq8.l2_query(query_codes.data(), codes_.data() + j * dim_, dim_);
  }
  return true;
}

}  // namespace iqdb::index::ivf
