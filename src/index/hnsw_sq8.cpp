#include "index/hnsw_sq8.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

#include "index/hnsw_layer.h"
#include "util/coding.h"

namespace iqdb::index::hnsw {
namespace {

size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

template <typename T>
T clamp_round(float v, float lo, float hi) {
  // NaN compares false everywhere and lands on lo.
  const float r = std::nearbyint(v);
  return static_cast<T>(r >= lo ? (r <= hi ? r : hi) : lo);
}

}  // namespace

Sq8Codes::Family Sq8Codes::family_for(Metric metric) noexcept {
  switch (metric) {
    case Metric::kL2:
    case Metric::kL1: return Family::kUnsigned;
    case Metric::kDot:
    case Metric::kCosine: return Family::kSigned;
    case Metric::kHamming: return Family::kNone;
  }
  return Family::kNone;
}

Sq8Codes::Sq8Codes(size_t dim, Metric metric)
    : dim_(dim),
      metric_(metric),
      family_(family_for(metric)),
      stride_(round_up(dim, 64)),
      kernel_dim_(round_up(dim, 32)) {
  if (family_ == Family::kUnsigned) {
    min_.assign(dim_, 0.0f);
    steps_.assign(dim_, scale_);
  }
  bind_kernels();
}

void Sq8Codes::bind_kernels() noexcept {
  const kernels::Sq8Kernels& k = kernels::active_sq8_kernels();
  quantize_fn_ = k.quantize;
  const kernels::TypedKernels& typed = kernels::active_typed_kernels();
  const auto sq8 = static_cast<size_t>(kernels::RowType::kSq8);
  if (metric_ == Metric::kL2) {
    grid_fn_ = typed.rows[sq8][static_cast<size_t>(kernels::TypedOp::kL2Squared)];
  } else if (metric_ == Metric::kL1) {
    grid_fn_ = typed.rows[sq8][static_cast<size_t>(kernels::TypedOp::kL1)];
  }
  switch (metric_) {
    case Metric::kL2:
      query_fn_ = k.l2_query, codes_fn_ = k.l2_codes, gather_fn_ = k.l2_gather;
      bounded_fn_ = k.l2_gather_bounded;
      break;
    case Metric::kL1:
      query_fn_ = k.l1_query, codes_fn_ = k.l1_codes, gather_fn_ = k.l1_gather;
      bounded_fn_ = k.l1_gather_bounded;
      break;
    case Metric::kDot:
    case Metric::kCosine:
      query_fn_ = k.dot_query, codes_fn_ = k.dot_codes, gather_fn_ = k.dot_gather;
      break;
    case Metric::kHamming: break;
  }
}

void Sq8Codes::train(const VectorStore& store, std::span<const uint32_t> sample) {
  if (family_ == Family::kNone) return;
  const bool cosine = metric_ == Metric::kCosine;
  if (family_ == Family::kUnsigned) {
    std::vector<float> lo(dim_, std::numeric_limits<float>::infinity());
    std::vector<float> hi(dim_, -std::numeric_limits<float>::infinity());
    for (uint32_t slot : sample) {
      const float* row = store.row(slot);
      for (size_t i = 0; i < dim_; ++i) {
        if (!std::isfinite(row[i])) continue;
        lo[i] = std::min(lo[i], row[i]);
        hi[i] = std::max(hi[i], row[i]);
      }
    }
    float range = 0.0f;
    for (size_t i = 0; i < dim_; ++i) {
      if (lo[i] > hi[i]) lo[i] = hi[i] = 0.0f;  // no finite value seen
      min_[i] = lo[i];
      range = std::max(range, hi[i] - lo[i]);
    }
    scale_ = range > 0.0f && std::isfinite(range) ? range / 255.0f : 1.0f;
  } else {
    float max_abs = 0.0f;
    for (uint32_t slot : sample) {
      const float* row = store.row(slot);
      const float norm = cosine ? store.inv_norm(slot) : 1.0f;
      for (size_t i = 0; i < dim_; ++i) {
        const float v = std::fabs(row[i] * norm);
        if (std::isfinite(v)) max_abs = std::max(max_abs, v);
      }
    }
    scale_ = max_abs > 0.0f ? max_abs / 127.0f : 1.0f;
  }
  inv_scale_ = 1.0f / scale_;
  grid_changed();
}

Status Sq8Codes::reserve(uint32_t slots) {
  if (family_ == Family::kNone) return Status::OK();
  IQDB_RETURN_IF_ERROR(arena_.grow(size_t{slots} * stride_));
  IQDB_RETURN_IF_ERROR(radius_arena_.grow(size_t{slots} * sizeof(float)));
  if (base_ == nullptr) base_ = arena_.data();
  if (radius_ == nullptr) radius_ = reinterpret_cast<float*>(radius_arena_.data());
  return Status::OK();
}

void Sq8Codes::encode(const VectorStore& store, uint32_t slot) noexcept {
  uint8_t* out = base_ + size_t{slot} * stride_;
  const float* row = store.row(slot);
  double sum_sq = 0, sum_abs = 0;  // rounding error, in steps
  if (family_ == Family::kUnsigned) {
    for (size_t i = 0; i < dim_; ++i) {
      const float v = (row[i] - min_[i]) * inv_scale_;
      out[i] = clamp_round<uint8_t>(v, 0.0f, 255.0f);
      const double e = std::isfinite(v) ? double(v) - out[i] : 0.0;
      sum_sq += e * e;
      sum_abs += std::fabs(e);
    }
  } else {
    const float norm = metric_ == Metric::kCosine ? store.inv_norm(slot) : 1.0f;
    const float mul = norm * inv_scale_;
    for (size_t i = 0; i < dim_; ++i) {
      const float v = row[i] * mul;
      const int8_t c = clamp_round<int8_t>(v, -127.0f, 127.0f);
      out[i] = static_cast<uint8_t>(c);
      const double e = std::isfinite(v) ? double(v) - c : 0.0;
      sum_sq += e * e;
      sum_abs += std::fabs(e);
    }
  }
  std::memset(out + dim_, 0, stride_ - dim_);
  // Rounded up a little so float rounding never makes the bound too tight.
  const double r = metric_ == Metric::kL1 ? sum_abs : std::sqrt(sum_sq);
  radius_[slot] = r == 0 ? 0.0f : static_cast<float>(r * (1 + 1e-5) + 1e-6);
}

float Sq8Codes::encode_query(const float* query, int16_t* out) const noexcept {
  float err[2];
  float radius = 0.0f;
  if (family_ == Family::kUnsigned) {
    quantize_fn_(query, min_.data(), inv_scale_, dim_, kernels::kSq8QueryMin, kernels::kSq8QueryMax,
                 out, err);
    const float r = metric_ == Metric::kL1 ? err[1] : std::sqrt(err[0]);
    // Non-finite query values make the bound useless: rerank everything.
    radius = r == 0.0f          ? 0.0f
             : std::isfinite(r) ? r * (1 + 1e-4f) + 1e-4f
                                : std::numeric_limits<float>::infinity();
  } else {
    // Any positive multiple of the query ranks the same: use the finest
    // grid the kernel's limit allows.
    float max_abs = 0.0f;
    for (size_t i = 0; i < dim_; ++i) {
      if (std::isfinite(query[i])) max_abs = std::max(max_abs, std::fabs(query[i]));
    }
    const float mul = max_abs > 0.0f ? kernels::kSq8DotQueryLimit / max_abs : 0.0f;
    quantize_fn_(query, nullptr, mul, dim_, -kernels::kSq8DotQueryLimit, kernels::kSq8DotQueryLimit,
                 out, err);
  }
  std::fill(out + dim_, out + kernel_dim_, int16_t{0});
  return radius;
}

void Sq8Codes::widen(uint32_t slot, int16_t* out) const noexcept {
  const uint8_t* c = codes(slot);
  if (family_ == Family::kUnsigned) {
    for (size_t i = 0; i < kernel_dim_; ++i) out[i] = c[i];
  } else {
    for (size_t i = 0; i < kernel_dim_; ++i) out[i] = static_cast<int8_t>(c[i]);
  }
}

void Sq8Codes::grid_changed() noexcept {
  if (family_ == Family::kUnsigned) steps_.assign(dim_, scale_);
  exact_grid_ = family_ == Family::kUnsigned && scale_ == 1.0f &&
                std::all_of(min_.begin(), min_.end(), [](float m) {
                  return std::fabs(m) < 16'777'216.0f && m == std::trunc(m);
                });
}

float Sq8Codes::ranking(float code_distance) const noexcept {
  return metric_ == Metric::kL2 ? code_distance * scale_ * scale_ : code_distance * scale_;
}

float Sq8Codes::ranking_lower_bound(float code_distance, uint32_t slot,
                                    float query_radius) const noexcept {
  const bool l2 = metric_ == Metric::kL2;
  if (!l2 && metric_ != Metric::kL1) return -std::numeric_limits<float>::infinity();
  const float steps = l2 ? std::sqrt(std::max(code_distance, 0.0f)) : code_distance;
  const float low = (steps - radius(slot) - query_radius) * (1.0f - 1e-4f);
  if (!(low > 0.0f)) return 0.0f;
  return l2 ? low * low * scale_ * scale_ : low * scale_;
}

float Sq8Codes::query_lower_bound(const float* query, uint32_t slot) const noexcept {
  if (grid_fn_ == nullptr) return -std::numeric_limits<float>::infinity();
  const kernels::TypedQuery q{query, nullptr, min_.data(), steps_.data()};
  float d;
  grid_fn_(q, base(), stride_, &slot, 1, dim_, &d);
  // |true - grid| <= the row's rounding error, radius(slot) * scale (the
  // triangle inequality), shrunk a little against float rounding.
  const bool l2 = metric_ == Metric::kL2;
  const float grid = l2 ? std::sqrt(std::max(d, 0.0f)) : d;
  const float low = (grid - radius(slot) * scale_) * (1.0f - 1e-4f);
  if (!(low > 0.0f)) return 0.0f;
  return l2 ? low * low : low;
}

size_t Sq8Codes::rerank_candidates(std::span<const Cand> found, size_t k, float query_radius,
                                   uint32_t* out) const noexcept {
  const bool l2 = metric_ == Metric::kL2;
  const bool bounded = l2 || metric_ == Metric::kL1;
  // Code distances in the units the radii are in: steps (sqrt for L2).
  auto steps = [l2](float d) { return l2 ? std::sqrt(std::max(d, 0.0f)) : d; };
  float limit = std::numeric_limits<float>::infinity();
  if (bounded && found.size() > k) {
    float worst = 0.0f;
    for (size_t i = 0; i < k; ++i)
      worst = std::max(worst, steps(found[i].dist) + radius(found[i].slot));
    limit = worst + 2.0f * query_radius;
  }
  size_t n = 0;
  for (size_t i = 0; i < found.size(); ++i) {
    const Cand& c = found[i];
    if (i < k || !(steps(c.dist) - radius(c.slot) > limit)) out[n++] = static_cast<uint32_t>(i);
  }
  return n;
}

// Layout: u8 family, u32 dim, f32 scale, then (unsigned) dim f32 minima.
std::string Sq8Codes::params() const {
  std::string out;
  util::put_u8(out, static_cast<uint8_t>(family_));
  util::put_u32(out, static_cast<uint32_t>(dim_));
  util::put_f32(out, scale_);
  for (float v : min_) util::put_f32(out, v);
  return out;
}

Status Sq8Codes::set_params(std::span<const uint8_t> bytes) {
  util::ByteReader in(bytes);
  uint8_t family;
  uint32_t dim;
  float scale;
  if (!in.read_u8(&family) || !in.read_u32(&dim) || !in.read_f32(&scale)) {
    return in.overrun("HNSW SQ8 parameters");
  }
  if (family != static_cast<uint8_t>(family_) || dim != dim_) {
    return Status::Corruption("HNSW SQ8 parameters do not match the metric or dimension");
  }
  if (!std::isfinite(scale) || !(scale > 0.0f) || !std::isfinite(1.0f / scale)) {
    return Status::Corruption("HNSW SQ8 scale is not a positive finite number");
  }
  std::vector<float> mins(family_ == Family::kUnsigned ? dim_ : 0);
  for (float& v : mins) {
    if (!in.read_f32(&v)) return in.overrun("HNSW SQ8 minima");
    if (!std::isfinite(v)) return Status::Corruption("HNSW SQ8 minimum is not finite");
  }
  if (!in.at_end()) return Status::Corruption("HNSW SQ8 parameters have trailing bytes");
  scale_ = scale;
  inv_scale_ = 1.0f / scale;
  min_ = std::move(mins);
  grid_changed();
  return Status::OK();
}

void Sq8Codes::borrow(const VectorStore& store) noexcept {
  borrowed_ = &store;
  stride_ = store.code_stride_bytes();
  kernel_dim_ = dim_;  // the store's row padding is not ours to assume zero
  std::fill(min_.begin(), min_.end(), 0.0f);
  scale_ = inv_scale_ = 1.0f;
  grid_changed();
}

void Sq8Codes::adopt(util::Arena codes, util::Arena radii) noexcept {
  arena_ = std::move(codes);
  radius_arena_ = std::move(radii);
  base_ = arena_.data();
  radius_ = reinterpret_cast<float*>(radius_arena_.data());
}

}  // namespace iqdb::index::hnsw
