#include "db/database_impl.h"

#include <mutex>
#include <string>
#include <unordered_map>

#include "db/exception_status.h"
#include "db/open_database.h"
#include "db/result_cache.h"
#include "db/validate.h"
#include "exec/parallel.h"
#include "index/filter_predicate.h"
#include "index/flat.h"
#include "index/flat_batch.h"
#include "index/scorer.h"
#include "util/lock_trace.h"

namespace iqdb {
namespace {

Status closed_error() { return Status::Closed("the database is closed"); }

}  // namespace

Result<std::unique_ptr<DatabaseImpl>> DatabaseImpl::open(const Config& config,
                                                         const std::filesystem::path* path,
                                                         bool read_only, bool keep_stored_fields) {
  auto opened = db::open_database(config, path, read_only, keep_stored_fields);
  if (!opened) return opened.status();
  std::unique_ptr<DatabaseImpl> impl(new DatabaseImpl(std::move(opened->contents),
                                                      std::move(opened->journal), opened->unsaved,
                                                      std::move(opened->scrub)));
  if (path != nullptr) impl->path_ = *path;
  impl->read_only_ = read_only;
  return impl;
}

DatabaseImpl::DatabaseImpl(std::unique_ptr<db::Contents> contents,
                           std::unique_ptr<db::Journal> journal, bool unsaved,
                           std::unique_ptr<db::SnapshotScrub> scrub)
    : config_(contents->config()),
      contents_(std::move(contents)),
      journal_(std::move(journal)),
      scrub_(std::move(scrub)),
      order_(db::Journal::AppendHold(*journal_).last_seq() + 1),
      write_limit_(config_.write_threads()),
      unsaved_(unsaved) {
  snapshot_compression_ = config_.compression_kind();
  // After open: the stored index kind decides how the cache invalidates.
  if (config_.is_cached()) {
    cache_ =
        std::make_unique<db::ResultCache>(config_.cache_config(), config_.index_kind().is_flat());
  }
}

DatabaseImpl::~DatabaseImpl() { (void)close(); }

// ---- reads ----

Result<std::optional<Record>> DatabaseImpl::get(const VectorId& id) const {
  auto pass = gate_.enter();
  if (!pass) return closed_error();
  IQDB_RETURN_IF_ERROR(intact());
  std::shared_lock lock(mutex_);
  const index::VectorStore& store = contents_->store();
  uint32_t slot = store.find(id);
  if (slot == index::kNoSlot) return std::optional<Record>();
  Record record;
  record.vector.resize(config_.dim());
  store.decode_row(slot, record.vector.data());  // what it returns per type: VectorStorage
  if (const Metadata* m = store.metadata(slot)) record.metadata = *m;
  return std::optional<Record>(std::move(record));
}

size_t DatabaseImpl::size() const {
  auto pass = gate_.enter();
  if (!pass) return 0;
  std::shared_lock lock(mutex_);
  return contents_->store().size();
}

std::vector<util::Candidate> DatabaseImpl::search_locked(const float* query,
                                                         const SearchParams& params) const {
  const index::VectorStore& store = contents_->store();
  const index::AnnIndex* ann = contents_->ann();
  index::QueryScorer scorer(store, query);
  std::optional<index::FilterPredicate> predicate;
  if (params.filter != nullptr) predicate.emplace(store, *params.filter);
  const index::SlotPredicate* pred = predicate ? &*predicate : nullptr;
  if (ann && !params.exact)
    return ann->search(scorer, params.k, index::AnnKnobs{params.ef, params.n_probes}, pred);
  return index::flat_search(scorer, params.k, pred);
}

std::vector<Hit> DatabaseImpl::to_hits(const std::vector<util::Candidate>& found,
                                       const float* query, bool with_metadata) const {
  const index::VectorStore& store = contents_->store();
  index::QueryScorer scorer(store, query);
  std::vector<Hit> hits;
  hits.reserve(found.size());
  for (const util::Candidate& c : found) {
    Hit hit{store.id(c.slot), scorer.to_user_distance(c.distance), std::nullopt};
    if (with_metadata) {
      if (const Metadata* m = store.metadata(c.slot)) hit.metadata = *m;
    }
    hits.push_back(std::move(hit));
  }
  return hits;
}

Result<std::vector<Hit>> DatabaseImpl::search(std::span<const float> query,
                                              const SearchParams& params) const {
  auto pass = gate_.enter();
  if (!pass) return closed_error();
  IQDB_RETURN_IF_ERROR(intact());
  IQDB_RETURN_IF_ERROR(db::check_vector(query, config_.dim(), "query"));
  IQDB_RETURN_IF_ERROR(db::check_search(params));
  if (!params.filters.empty()) {
    return Status::InvalidArgument(
        "per-query filters are for search_batch; search takes one filter");
  }
  [[maybe_unused]] util::lock_trace::SearchScope timed;
  const uint64_t asked = util::lock_trace::now_ns();
  std::shared_lock lock(mutex_);
  util::lock_trace::search_wait(util::lock_trace::now_ns() - asked);
  return search_one(query, params);
}

std::vector<Hit> DatabaseImpl::search_one(std::span<const float> query,
                                          const SearchParams& params) const {
  std::string key;
  if (cache_) {
    key = db::ResultCache::key(query, params);
    if (auto cached = cache_->lookup(key)) return std::move(*cached);
  }
  std::vector<util::Candidate> found = search_locked(query.data(), params);
  std::vector<Hit> hits = to_hits(found, query.data(), params.with_metadata);
  if (cache_)
    cache_->insert(key, query, params, hits, found.empty() ? 0.0f : found.back().distance);
  return hits;
}

Result<std::vector<std::vector<Hit>>> DatabaseImpl::search_batch(std::span<const float> queries,
                                                                 const SearchParams& params) const {
  auto pass = gate_.enter();
  if (!pass) return closed_error();
  IQDB_RETURN_IF_ERROR(intact());
  const size_t dim = config_.dim();
  if (queries.size() % dim != 0) {
    return Status::InvalidArgument("search_batch: " + std::to_string(queries.size()) +
                                   " floats is not a whole number of " + std::to_string(dim) +
                                   "-dimensional queries");
  }
  const size_t n = queries.size() / dim;
  for (size_t i = 0; i < n; ++i) {
    Status s = db::check_vector(queries.subspan(i * dim, dim), dim, "query");
    if (!s.ok()) {
      return Status::InvalidArgument("search_batch query " + std::to_string(i) + ": " +
                                     std::string(s.message()));
    }
  }
  IQDB_RETURN_IF_ERROR(db::check_search(params));
  if (!params.filters.empty() && params.filters.size() != n) {
    return Status::InvalidArgument("search_batch: " + std::to_string(params.filters.size()) +
                                   " filters for " + std::to_string(n) + " queries");
  }
  std::vector<std::vector<Hit>> results(n);
  std::shared_lock lock(mutex_);
  exec::run_with_threads(params.threads, [&] { search_batch_locked(queries, params, results); });
  return results;
}

void DatabaseImpl::search_batch_locked(std::span<const float> queries, const SearchParams& params,
                                       std::vector<std::vector<Hit>>& results) const {
  const size_t dim = config_.dim();
  const size_t n = results.size();
  if (!params.filters.empty()) {
    exec::parallel_for(0, n, 4, [&](size_t begin, size_t end) {
      SearchParams one = params;
      one.filters = {};
      for (size_t i = begin; i < end; ++i) {
        one.filter = params.filters[i];
        results[i] = search_one(queries.subspan(i * dim, dim), one);
      }
    });
    return;
  }
  const index::VectorStore& store = contents_->store();
  if ((!contents_->ann() || params.exact) && !cache_) {
    // Flat and uncached: score the whole batch at once (index/flat_batch.h);
    // the answers are exactly search()'s. With a cache, each query goes
    // through it below instead.
    std::optional<index::FilterPredicate> predicate;
    if (params.filter != nullptr) predicate.emplace(store, *params.filter);
    auto found = index::flat_search_batch(store, queries.data(), n, params.k,
                                          predicate ? &*predicate : nullptr);
    exec::parallel_for(0, n, 16, [&](size_t begin, size_t end) {
      for (size_t i = begin; i < end; ++i) {
        results[i] = to_hits(found[i], queries.data() + i * dim, params.with_metadata);
      }
    });
    return;
  }
  exec::parallel_for(0, n, 4, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      results[i] = search_one(queries.subspan(i * dim, dim), params);
    }
  });
}

// ---- lifecycle ----

Status DatabaseImpl::flush() {
  auto pass = gate_.enter();
  if (!pass) return closed_error();
  Status s = checkpoint();
  std::lock_guard l(compact_mu_);
  if (s.ok()) compact_error_ = Status::OK();
  return s;
}

Status DatabaseImpl::close() {
  std::lock_guard one_close(close_mu_);
  if (!gate_.close_and_drain()) return closed_error();
  stop_compactor();
  // Cancelled between two chunks; a snapshot written below still verifies
  // what the scrub did not reach.
  if (scrub_) scrub_->stop();
  Status s = read_only_ ? Status::OK() : writable();
  if (s.ok() && !read_only_) s = checkpoint();  // every change reaches the file
  Status j = journal_->close();
  if (s.ok()) s = std::move(j);
  std::unique_lock lock(mutex_);
  cache_.reset();
  contents_.reset();
  scrub_.reset();  // unmaps and closes the old snapshot
  return s;
}

Result<Integrity> DatabaseImpl::integrity() const {
  auto pass = gate_.enter();
  if (!pass) return closed_error();
  if (!scrub_) return Integrity{};  // in memory, or a file this handle wrote whole
  return scrub_->integrity();
}

std::optional<CacheStats> DatabaseImpl::cache_stats() const {
  auto pass = gate_.enter();
  if (!pass || !cache_) return std::nullopt;
  return cache_->stats();
}

}  // namespace iqdb
