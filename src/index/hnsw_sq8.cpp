#include "index/hnsw_sq8.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

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

// The same for the query codes, written so the loop vectorises: clamp, then
// round half up by truncating a value made positive (no libm call).
inline int16_t clamp_round_query(float v, float lo, float hi) {
  const float c = v >= lo ? (v <= hi ? v : hi) : lo;
  constexpr float kBias = 16384.0f;  // > |lo|, so c + kBias + 0.5 > 0
  return static_cast<int16_t>(static_cast<int32_t>(c + (kBias + 0.5f)) - static_cast<int32_t>(kBias));
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
  if (family_ == Family::kUnsigned) min_.assign(dim_, 0.0f);
  bind_kernels();
}

void Sq8Codes::bind_kernels() noexcept {
  const kernels::Sq8Kernels& k = kernels::active_sq8_kernels();
  switch (metric_) {
    case Metric::kL2:
      query_fn_ = k.l2_query, codes_fn_ = k.l2_codes, gather_fn_ = k.l2_gather;
      break;
    case Metric::kL1:
      query_fn_ = k.l1_query, codes_fn_ = k.l1_codes, gather_fn_ = k.l1_gather;
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
}

Status Sq8Codes::reserve(uint32_t slots) {
  if (family_ == Family::kNone) return Status::OK();
  IQDB_RETURN_IF_ERROR(arena_.grow(size_t{slots} * stride_));
  if (base_ == nullptr) base_ = arena_.data();
  return Status::OK();
}

void Sq8Codes::encode(const VectorStore& store, uint32_t slot) noexcept {
  uint8_t* out = base_ + size_t{slot} * stride_;
  const float* row = store.row(slot);
  if (family_ == Family::kUnsigned) {
    for (size_t i = 0; i < dim_; ++i) {
      out[i] = clamp_round<uint8_t>((row[i] - min_[i]) * inv_scale_, 0.0f, 255.0f);
    }
  } else {
    const float norm = metric_ == Metric::kCosine ? store.inv_norm(slot) : 1.0f;
    const float mul = norm * inv_scale_;
    for (size_t i = 0; i < dim_; ++i) {
      out[i] = static_cast<uint8_t>(clamp_round<int8_t>(row[i] * mul, -127.0f, 127.0f));
    }
  }
  std::memset(out + dim_, 0, stride_ - dim_);
}

void Sq8Codes::encode_query(const float* query, int16_t* out) const noexcept {
  if (family_ == Family::kUnsigned) {
    for (size_t i = 0; i < dim_; ++i) {
      out[i] = clamp_round_query((query[i] - min_[i]) * inv_scale_, kernels::kSq8QueryMin,
                                 kernels::kSq8QueryMax);
    }
  } else {
    // Any positive multiple of the query ranks the same: use the finest
    // grid the kernel's limit allows.
    float max_abs = 0.0f;
    for (size_t i = 0; i < dim_; ++i) {
      if (std::isfinite(query[i])) max_abs = std::max(max_abs, std::fabs(query[i]));
    }
    const float mul = max_abs > 0.0f ? kernels::kSq8DotQueryLimit / max_abs : 0.0f;
    const float limit = kernels::kSq8DotQueryLimit;
    for (size_t i = 0; i < dim_; ++i) out[i] = clamp_round_query(query[i] * mul, -limit, limit);
  }
  std::fill(out + dim_, out + kernel_dim_, int16_t{0});
}

void Sq8Codes::widen(uint32_t slot, int16_t* out) const noexcept {
  const uint8_t* c = codes(slot);
  if (family_ == Family::kUnsigned) {
    for (size_t i = 0; i < kernel_dim_; ++i) out[i] = c[i];
  } else {
    for (size_t i = 0; i < kernel_dim_; ++i) out[i] = static_cast<int8_t>(c[i]);
  }
}

float Sq8Codes::rerank_bound(float kth) const noexcept {
  const float d = static_cast<float>(dim_);
  switch (metric_) {
    case Metric::kL2: {
      const float r = std::sqrt(std::max(kth, 0.0f)) + 2.0f * std::sqrt(d);
      return r * r;
    }
    case Metric::kL1: return kth + 2.0f * d;
    default: return std::numeric_limits<float>::infinity();
  }
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
  return Status::OK();
}

void Sq8Codes::adopt(util::Arena codes) noexcept {
  arena_ = std::move(codes);
  base_ = arena_.data();
}

}  // namespace iqdb::index::hnsw
