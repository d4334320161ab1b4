// The records crash_writer writes and crash_test expects, derived from the id.
#pragma once

#include <vector>

#include "iqdb/types.h"

namespace iqdb::crash {

inline constexpr size_t kDim = 16;

inline std::vector<float> vector_for(uint64_t id) {
  std::vector<float> v(kDim);
  uint64_t x = id * 0x9E3779B97F4A7C15ull + 1;
  for (float& f : v) {
    x ^= x >> 29;
    x *= 0xBF58476D1CE4E5B9ull;
    f = float(int64_t(x >> 40) - (1 << 23)) / 4096.0f;
  }
  return v;
}

inline Metadata metadata_for(uint64_t id) {
  return Metadata{{"id", int64_t(id)}, {"tag", "t" + std::to_string(id % 13)}};
}

}  // namespace iqdb::crash
