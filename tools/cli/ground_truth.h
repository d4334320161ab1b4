// Ground truth for `iqdb bench`: the exact k nearest ids of each query,
// read from an .ivecs file or computed by an exact scan of the snapshot.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "iqdb/iqdb.hpp"

namespace iqdb::cli {

using Truth = std::vector<std::vector<VectorId>>;  // per query, nearest first

// The first `queries` rows of an .ivecs (or IDX/.npy integer) file, each
// cut to its first k ids. Throws CliError(kBadInput) when it has fewer rows
// or columns.
Truth read_truth(const std::string& file, size_t queries, size_t k);

// Exact k nearest (matching `filter` when not null) by a flat scan over the
// rows of the snapshot at `path`, in parallel over queries. The snapshot
// must hold every write (flush first).
Truth exact_truth(const std::filesystem::path& path, std::span<const float> queries, size_t dim,
                  size_t k, const Filter* filter);

}  // namespace iqdb::cli
