#include "cli/ground_truth.h"

#include <algorithm>

#include "cli/cli.h"
#include "dataset/rows.h"

namespace iqdb::cli {
Truth read_truth(const std::string& file, size_t queries, size_t k) {
  auto rows = take(dataset::read_int_rows(file), "--truth", Exit::kBadInput);
  if (rows.rows() < queries) {
    throw CliError(Exit::kBadInput, "--truth " + file + " has " + std::to_string(rows.rows()) +
                                        " rows for " + std::to_string(queries) + " queries");
  }
  if (rows.dim < k) {
    throw CliError(Exit::kBadInput, "--truth " + file + " lists " + std::to_string(rows.dim) +
                                        " neighbours per query, fewer than k=" + std::to_string(k));
  }
  Truth truth(queries);
  for (size_t q = 0; q < queries; ++q) {
    for (size_t j = 0; j < k; ++j) {
      const int64_t id = rows.values[q * rows.dim + j];
      if (id < 0)
        throw CliError(Exit::kBadInput,
                       "--truth " + file + ": negative id in row " + std::to_string(q));
      truth[q].emplace_back(uint64_t(id));
    }
  }
  return truth;
}

Truth exact_truth(const Database& db, std::span<const float> queries, size_t k,
                  const Filter* filter) {
  SearchParams params;
  params.k = k;
  params.filter = filter;
  params.exact = true;
  const auto found = take(db.search_batch(queries, params), "exact search", Exit::kError);
  Truth truth(found.size());
  for (size_t q = 0; q < found.size(); ++q) {
    for (const Hit& h : found[q]) truth[q].push_back(h.id);
  }
  return truth;
}

}  // namespace iqdb::cli
