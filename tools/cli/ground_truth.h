// Ground truth for `iqdb bench`: the exact k nearest ids of each query,
// read from an .ivecs file or computed by an exact search of the database.
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

// Exact k nearest (matching `filter` when not null) of each row-major
// query, by an exact scan of every record (SearchParams::exact), in
// parallel over queries.
Truth exact_truth(const Database& db, std::span<const float> queries, size_t k,
                  const Filter* filter);

}  // namespace iqdb::cli
