#include "cli/ground_truth.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "cli/cli.h"
#include "cli/snapshot_view.h"
#include "dataset/rows.h"
#include "index/flat.h"
#include "index/scorer.h"

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
  Truth truth(nq);
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t q; (q = next.fetch_add(1)) < nq;) {
      index::QueryScorer scorer(store, queries.data() + q * dim);
      for (const auto& c : index::flat_search(scorer, k, predicate ? &*predicate : nullptr)) {
        truth[q].push_back(store.id(c.slot));
      }
    }
  };
  std::vector<std::thread> threads;
  const unsigned n = std::max(1u, std::thread::hardware_concurrency());
  for (unsigned t = 1; t < n; ++t) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
  return truth;
}

}  // namespace iqdb::cli
