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
// With thousands of lists even the codes cost more to stream than the few
// lists a query scans (4,000 lists of 784 dimensions are 3.1 MB of codes).
// CoarseGraph links each centroid to its near neighbours, so that a
// best-first walk on the codes finds a query's nearest lists after
// visiting a few hundred centroids (the IVF-HNSW idea, with two levels:
// the walk starts from the nearest of a few dozen spread-out entries, so
// that a query reaches its region even where the centroids form clumps
// with few links between them).
//
// Squared L2 only (the L2 and cosine partitions). The index keeps codes
// and the graph only where they pay (IvfIndex::Options::
// coarse_codes_from_bytes, coarse_graph_from_lists); other models rank
// every list exactly. Neither is saved: both are derived from the
// centroids when a model is trained or loaded.
//
// Thread-safety: build() before the model is published; the const methods
// are reentrant (per-query state lives in the caller's buffers).
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "util/visited_set.h"

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

  // The query's codes (resized); false when q lies so far outside the
  // centroids' range that they would clamp, or there are no codes.
  bool quantize(const float* q, std::vector<int16_t>& query_codes) const;
  // Code distances (in the units of squared L2) from quantised query codes
  // to the centroids ids[0..n).
  void l2_gather(const int16_t* query_codes, const uint32_t* ids, size_t n, float* out) const;

  size_t memory_bytes() const noexcept {
    return codes_.capacity() + offset_.capacity() * sizeof(float);
  }

 private:
  size_t k_ = 0, dim_ = 0;
  float step_ = 0, inv_step_ = 0;
  std::vector<float> offset_;   // per dimension: the smallest centroid value
  std::vector<uint8_t> codes_;  // k rows of dim bytes

  friend class CoarseGraph;
};

// A proximity graph over the centroids of a CoarseCodes, walked on their
// codes.
//
// Build: each centroid's nearest others by code distance (all pairs, in
// parallel), thinned by the relative-neighbourhood rule with slack (a
// candidate is dropped when a kept one is much nearer to it than the
// centroid is, which keeps a few long links for navigation), then made
// two-way; a centroid no walk from the first entry could reach is linked
// from its nearest reachable one. The entries are spread by farthest-point
// sampling (each the centroid farthest from those chosen before).
//
// Cost: O(k^2 dim) byte arithmetic, on every train and every open (the
// graph is not saved): 0.27 s of wall time on 2 cores for 4,000 lists of
// 784 dimensions. Built only up to kMaxNodes centroids; beyond, the codes
// rank every list.
class CoarseGraph {
 public:
  static constexpr size_t kMaxNodes = 8192;
  static constexpr size_t kDegree = 24;   // links chosen per centroid (two-way links add more)
  static constexpr size_t kEntries = 64;  // where walks start

  // Per-thread state of a walk.
  struct Scratch {
    util::VisitedSet visited;
    std::vector<uint32_t> ids;
    std::vector<float> dist;
    // Nearest first: (code distance, centroid). During a walk the top bit
    // of a centroid marks it expanded.
    std::vector<std::pair<float, uint32_t>> beam;
  };

  // Empty when the codes are, or they hold fewer than 2 or more than
  // kMaxNodes centroids.
  void build(const CoarseCodes& codes);
  bool empty() const noexcept { return offsets_.empty(); }

  // The (up to) `ef` centroids nearest the query codes that a best-first
  // walk from the nearest entries finds, nearest first, as (code distance,
  // centroid) in s.beam.
  void search(const CoarseCodes& codes, const int16_t* query_codes, size_t ef, Scratch& s) const;

  // Every centroid's links, for tests: centroid j links to
  // links()[offsets()[j] .. offsets()[j + 1]).
  const std::vector<uint32_t>& offsets() const noexcept { return offsets_; }
  const std::vector<uint32_t>& links() const noexcept { return links_; }
  const std::vector<uint32_t>& entries() const noexcept { return entries_; }

  size_t memory_bytes() const noexcept {
    return (offsets_.capacity() + links_.capacity()) * sizeof(uint32_t);
  }

 private:
  std::vector<uint32_t> offsets_;  // k + 1 (empty: no graph)
  std::vector<uint32_t> links_;
  std::vector<uint32_t> entries_;
};

}  // namespace iqdb::index::ivf
