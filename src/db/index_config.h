// The index kind and knobs as stored in a snapshot header (opaque to
// storage/). Little-endian:
//   u8 kind (0 flat, 1 hnsw, 2 ivf) | knobs
//   hnsw: u64 m | u64 ef_construction | u64 ef_search | u64 seed |
//         u8 quantized_walk (absent in files written before it: 1)
//   ivf : u64 n_clusters | u64 n_probes | u64 training_sample_size | u8 pq |
//         u64 pq_subvectors | u64 refine_factor | u64 seed
#pragma once

#include <string>

#include "iqdb/config.h"
#include "iqdb/status.h"

namespace iqdb::db {

std::string encode_index_kind(const IndexKind& kind);
// kCorruption for unknown kinds, truncation or knobs out of range.
Result<IndexKind> decode_index_kind(std::string_view bytes, size_t dim);

}  // namespace iqdb::db
