// Pieces of IvfIndex shared by its implementation files (ivf_index.cpp,
// ivf_search.cpp, ivf_persist.cpp). Not for use outside the index.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "index/ivf.h"
#include "index/ivf_coarse.h"
#include "index/ivf_lists.h"
#include "index/ivf_pq.h"
#include "util/arena.h"

namespace iqdb::index {

// What training produces; replaced whole by a retrain.
struct IvfIndex::Model {
  Model(const ivf::PayloadLayout& layout, size_t lists_count, const ivf::PqShape& shape,
        bool code_row_payload)
      : n_lists(lists_count), code_rows(code_row_payload), pq(shape), lists(layout, lists_count) {}

  size_t n_lists;
  bool code_rows;            // IVF-Flat lists hold the store's code rows, not f32 rows
  util::Arena centroids;     // n_lists rows of centroid_stride floats
  std::vector<float> norms;  // squared centroid norms (used by the L2 partition)
  ivf::CoarseCodes coarse;   // for ranking lists by L2 (empty: rank exactly)
  ivf::CoarseGraph graph;    // over `coarse`, for many lists (empty: scan every code)
  ivf::ProductQuantizer pq;  // untrained for IVF-Flat
  ivf::InvertedLists lists;

  const float* centroid(size_t list, size_t stride) const noexcept {
    return reinterpret_cast<const float*>(centroids.data()) + list * stride;
  }
};

namespace ivf {

// Rows a list should have on average before an index trains itself.
inline constexpr size_t kMinRowsPerList = 32;

inline size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

}  // namespace ivf
}  // namespace iqdb::index
