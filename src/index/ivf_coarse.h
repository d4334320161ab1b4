// CoarseCodes: an 8-bit copy of an IVF model's centroids, so that ranking
// the lists for a query reads a quarter of the bytes.
//
// Which lists a query probes is decided by its distance to every centroid.
// With about sqrt(rows) lists of hundreds of dimensions, the f32 centroid
// matrix outgrows a core's L2 cache from a few hundred thousand rows on
// (1,000 lists of 784 floats are 3.1 MB), and streaming it costs more than
// scanning several lists. The codes (kernels/sq8.h, unsigned family: one
// byte per dimension on a per-dimension offset and one common step) rank
// every list in integer arithmetic; the search then computes exact f32
// distances only for the nearest lists by code, which decide the probe
// order (ivf_search.cpp).
//
// Squared L2 only (the L2 and cosine partitions). The index keeps codes
// only where they pay (IvfIndex::Options::coarse_codes_from_bytes); other
// models rank every list exactly.
//
// Thread-safety: build() before the model is published; l2_distances() is
// const and reentrant (the query codes live in the caller's buffer).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace iqdb::index::ivf {

class CoarseCodes {
 public:
  // Codes for k centroids (centroids + j * stride, dim floats each). Keeps
  // none when a value is not finite or every centroid is the same.
  void build(const float* centroids, size_t stride, size_t k, size_t dim);
  bool empty() const noexcept { return codes_.empty(); }

  // Approximate squared L2 distances from q (dim floats) to the k
  // centroids, in the units of exact distances; `query_codes` is scratch
  // (resized). False, with `out` untouched, when there are no codes or q
  // lies so far outside the centroids' range that its codes would clamp.
  bool l2_distances(const float* q, std::vector<int16_t>& query_codes, float* out) const;

  size_t memory_bytes() const noexcept {
    return codes_.capacity() + offset_.capacity() * sizeof(float);
  }

 private:
  size_t k_ = 0, dim_ = 0;
  float step_ = 0, inv_step_ = 0;
  std::vector<float> offset_;   // per dimension: the smallest centroid value
  std::vector<uint8_t> codes_;  // k rows of dim bytes
};

}  // namespace iqdb::index::ivf
