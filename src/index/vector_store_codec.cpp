// VectorStore: what each storage type accepts, encoding f32 values into code
// rows and decoding them back, and training the SQ8 quantiser.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "index/vector_store.h"

namespace iqdb::index {

Status VectorStore::check_vector(std::span<const float> vector) const {
  switch (storage_.type) {
    case StorageType::kU8:
      for (size_t i = 0; i < vector.size(); ++i) {
        const float v = vector[i];
        if (!(v >= 0.0f && v <= 255.0f && v == std::floor(v))) {
          return Status::InvalidArgument(
              "u8 storage holds whole numbers 0..255; the value at index " + std::to_string(i) +
              " is not one");
        }
      }
      return Status::OK();
    case StorageType::kF16:
      for (size_t i = 0; i < vector.size(); ++i) {
        if (!(std::fabs(vector[i]) < 65520.0f)) {  // rounds to at most 65504
          return Status::InvalidArgument(
              "f16 storage holds magnitudes up to 65504; the value at index " + std::to_string(i) +
              " is larger");
        }
      }
      return Status::OK();
    case StorageType::kF32:
    case StorageType::kBF16:
    case StorageType::kSq8: return Status::OK();
  }
  return Status::OK();
}

void VectorStore::encode_row(uint32_t slot, const float* values) noexcept {
  uint8_t* out = mutable_code_row(slot);
  std::memset(out, 0, code_stride_bytes_);
  switch (storage_.type) {
    case StorageType::kU8:
      for (size_t i = 0; i < dim_; ++i) out[i] = static_cast<uint8_t>(values[i]);
      return;
    case StorageType::kF16:
    case StorageType::kBF16:
      for (size_t i = 0; i < dim_; ++i) {
        const uint16_t h = storage_.type == StorageType::kF16 ? kernels::f32_to_f16(values[i])
                                                              : kernels::f32_to_bf16(values[i]);
        std::memcpy(out + 2 * i, &h, sizeof h);
      }
      return;
    case StorageType::kSq8:
      for (size_t i = 0; i < dim_; ++i)
        out[i] = kernels::sq8_encode(values[i], sq8_offset_[i], sq8_scale_[i]);
      return;
    case StorageType::kF32: return;
  }
}

void VectorStore::decode_row(uint32_t slot, float* out) const noexcept {
  if (has_f32_) {
    std::memcpy(out, row(slot), dim_ * sizeof(float));
    return;
  }
  kernels::active_typed_kernels().decode[static_cast<size_t>(code_type_)](
      code_row(slot), dim_, sq8_offset_.data(), sq8_scale_.data(), out);
}

void VectorStore::prefetch(uint32_t slot) const noexcept {
  if (has_f32_) {
    __builtin_prefetch(row(slot), 0, 3);
  } else {
    __builtin_prefetch(code_row(slot), 0, 3);
  }
}

Status VectorStore::train() {
  if (storage_.type != StorageType::kSq8 || has_codes_ || live_count_ == 0) return Status::OK();
  std::vector<float> lo(dim_, std::numeric_limits<float>::infinity());
  std::vector<float> hi(dim_, -std::numeric_limits<float>::infinity());
  for (uint32_t s = 0; s < slot_end_; ++s) {
    if (!live_[s]) continue;
    const float* r = row(s);
    for (size_t i = 0; i < dim_; ++i) {
      lo[i] = std::min(lo[i], r[i]);
      hi[i] = std::max(hi[i], r[i]);
    }
  }
  std::vector<float> offset(dim_), scale(dim_);
  for (size_t i = 0; i < dim_; ++i) {
    offset[i] = lo[i];
    // In double: hi - lo may exceed FLT_MAX, its 255th part never does.
    scale[i] = static_cast<float>((double(hi[i]) - double(lo[i])) / 255.0);
  }
  IQDB_RETURN_IF_ERROR(codes_.grow(std::max<size_t>(1, slot_end_) * code_stride_bytes_));
  sq8_offset_ = std::move(offset);
  sq8_scale_ = std::move(scale);
  has_codes_ = true;
  for (uint32_t s = 0; s < slot_end_; ++s) {
    if (live_[s]) encode_row(s, row(s));
  }
  if (!storage_.keep_f32) {
    rows_ = util::Arena();
    rows_touched_ = {};
    has_f32_ = false;
  }
  return Status::OK();
}

}  // namespace iqdb::index
