#include "cli/ground_truth.h"

#include <algorithm>

#include "cli/cli.h"
#include "cli/snapshot_view.h"
#include "dataset/rows.h"
#include "index/flat_batch.h"

namespace iqdb::cli {
namespace {

class FilterPredicate final : public index::SlotPredicate {
 public:
  FilterPredicate(const index::VectorStore& store, const Filter& filter)
      : store_(store), filter_(filter) {}
  bool matches(uint32_t slot) const override {
    const Metadata* m = store_.metadata(slot);
    return m ? filter_.matches(*m) : filter_.matches_empty();
  }

 private:
  const index::VectorStore& store_;
  const Filter& filter_;
};

}  // namespace

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

Truth exact_truth(const std::filesystem::path& path, std::span<const float> queries, size_t dim,
                  size_t k, const Filter* filter) {
  auto view = take(open_snapshot_view(path, storage::VerifyMode::kSmallSections), path.string(),
                   Exit::kDamaged);
  check(load_store(view), path.string(), Exit::kDamaged);
  const index::VectorStore& store = *view.store;
  std::optional<FilterPredicate> predicate;
  if (filter) predicate.emplace(store, *filter);
  const size_t nq = queries.size() / dim;
  // The same answer as flat_search per query, on the batched GEMM path.
  const auto found = index::flat_search_batch(store, queries.data(), nq, k,
                                              predicate ? &*predicate : nullptr);
  Truth truth(nq);
  for (size_t q = 0; q < nq; ++q) {
    for (const auto& c : found[q]) truth[q].push_back(store.id(c.slot));
  }
  return truth;
}

}  // namespace iqdb::cli
