// The large batch the big-batch tests write: kRows rows of kDim floats
// (over 1.5 GB), each derived from its row number so any row can be checked
// without keeping the batch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace iqdb::big_batch {

inline constexpr size_t kDim = 256;
inline constexpr size_t kRows = 1'500'000;  // 1.536 GB of floats
inline constexpr uint64_t kFirstId = 1'000'000;
inline constexpr uint64_t kMarkers = 10;  // ids [0, kMarkers) are written first, one by one

inline float value(uint64_t row, size_t d) {
  return float((row * 2654435761u + d * 40503u) % 65521u) / 64.0f;
}

inline std::vector<float> rows() {
  std::vector<float> out(kRows * kDim);
  for (uint64_t r = 0; r < kRows; ++r) {
    for (size_t d = 0; d < kDim; ++d) out[r * kDim + d] = value(r, d);
  }
  return out;
}

inline std::vector<float> row(uint64_t r) {
  std::vector<float> v(kDim);
  for (size_t d = 0; d < kDim; ++d) v[d] = value(r, d);
  return v;
}

}  // namespace iqdb::big_batch
