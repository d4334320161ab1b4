#include "db/database_impl.h"

#include <mutex>
#include <string>
#include <unordered_map>

#include "db/durability.h"
#include "db/index_factory.h"
#include "db/result_cache.h"
#include "db/validate.h"
#include "exec/parallel.h"
#include "index/flat.h"
#include "index/flat_batch.h"
#include "index/scorer.h"

namespace iqdb {
namespace {

// A Filter seen as a predicate over slots.
class MetadataPredicate final : public index::SlotPredicate {
 public:
  MetadataPredicate(const index::VectorStore& store, const Filter& filter)
      : store_(store), filter_(filter), empty_matches_(filter.matches_empty()) {}
  bool matches(uint32_t slot) const override {
    const Metadata* m = store_.metadata(slot);
    return m ? filter_.matches(*m) : empty_matches_;
  }

 private:
  const index::VectorStore& store_;
  const Filter& filter_;
  bool empty_matches_;
};

Status closed_error() { return Status::InvalidArgument("the database is closed"); }

}  // namespace

DatabaseImpl::DatabaseImpl(const Config& config)
    : config_(config), store_(config.dim(), config.metric(), config.storage()) {}

DatabaseImpl::~DatabaseImpl() = default;

Result<std::unique_ptr<DatabaseImpl>> DatabaseImpl::create(const Config& config) {
  IQDB_RETURN_IF_ERROR(config.validate());
  std::unique_ptr<DatabaseImpl> impl(new DatabaseImpl(config));
  auto ann = db::make_index(config.index_kind(), impl->store_);
  if (!ann) return ann.status();
  impl->ann_ = std::move(*ann);
  impl->make_cache();
  return impl;
}

Result<std::unique_ptr<DatabaseImpl>> DatabaseImpl::open(const std::filesystem::path& path,
                                                         const Config& config, bool read_only) {
  IQDB_RETURN_IF_ERROR(config.validate());
  std::unique_ptr<DatabaseImpl> impl(new DatabaseImpl(config));
  auto durability = db::Durability::open(path, *impl, read_only);
  if (!durability) return durability.status();
  impl->durability_ = std::move(*durability);
  impl->make_cache();  // after open: the stored index kind decides how it invalidates
  return impl;
}

void DatabaseImpl::make_cache() {
  if (config_.is_cached()) {
    cache_ = std::make_unique<db::ResultCache>(config_.cache_config(), config_.index_kind().is_flat());
  }
}

Status DatabaseImpl::writable() const {
  if (closed_.load(std::memory_order_acquire)) return closed_error();
  if (durability_) return durability_->writable();
  return Status::OK();
}

// ---- writes ----

Status DatabaseImpl::apply_upsert(const VectorId& id, std::span<const float> vector,
                                  const Metadata* metadata) {
  auto r = store_.upsert(id, vector, metadata);
  if (!r) return r.status();
  Status s;
  if (ann_) s = r->replaced ? ann_->update(r->slot) : ann_->insert(r->slot);
  if (cache_) cache_->on_upsert(store_, r->slot, r->replaced);
  return s;
}

Status DatabaseImpl::apply_upsert_batch(std::span<const VectorId> ids, std::span<const float> rows,
                                        std::span<const Metadata* const> metadata) {
  const size_t dim = config_.dim();
  std::vector<uint32_t> inserted, touched;
  inserted.reserve(ids.size());
  bool any_replaced = false;
  for (size_t i = 0; i < ids.size(); ++i) {
    auto r = store_.upsert(ids[i], rows.subspan(i * dim, dim), metadata.empty() ? nullptr : metadata[i]);
    if (!r) return r.status();
    if (cache_) touched.push_back(r->slot);
    any_replaced = any_replaced || r->replaced;
    if (!ann_) continue;
    if (r->replaced) {
      // A row inserted earlier in this batch and replaced again is still
      // waiting for insert_batch below, which will read its final vector.
      if (std::find(inserted.begin(), inserted.end(), r->slot) == inserted.end()) {
        IQDB_RETURN_IF_ERROR(ann_->update(r->slot));
      }
    } else {
      inserted.push_back(r->slot);
    }
  }
  Status s;
  if (ann_ && !inserted.empty()) s = ann_->insert_batch(inserted);
  if (cache_) cache_->on_upsert_many(store_, touched, any_replaced);
  return s;
}

bool DatabaseImpl::apply_remove(const VectorId& id) {
  uint32_t slot = store_.find(id);
  if (slot == index::kNoSlot) return false;
  if (ann_) ann_->remove(slot);
  store_.remove(id);
  if (cache_) cache_->on_remove(id);
  return true;
}

Status DatabaseImpl::upsert(const VectorId& id, std::span<const float> vector,
                            const Metadata* metadata) {
  IQDB_RETURN_IF_ERROR(db::check_vector(vector, config_.dim()));
  // Values the storage type cannot hold are refused before the WAL sees them.
  IQDB_RETURN_IF_ERROR(store_.check_vector(vector));
  IQDB_RETURN_IF_ERROR(writable());
  if (durability_) return durability_->upsert(id, vector, metadata);
  std::unique_lock lock(mutex_);
  return apply_upsert(id, vector, metadata);
}

Status DatabaseImpl::upsert_batch(std::span<const VectorId> ids, std::span<const float> rows,
                                  std::span<const Metadata* const> metadata) {
  const size_t dim = config_.dim();
  if (rows.size() != ids.size() * dim) {
    return Status::InvalidArgument("upsert_batch: " + std::to_string(ids.size()) + " ids need " +
                                   std::to_string(ids.size() * dim) + " floats, got " +
                                   std::to_string(rows.size()));
  }
  if (!metadata.empty() && metadata.size() != ids.size()) {
    return Status::InvalidArgument("upsert_batch: metadata must be empty or one entry per id");
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    Status s = db::check_vector(rows.subspan(i * dim, dim), dim);
    if (s.ok()) s = store_.check_vector(rows.subspan(i * dim, dim));
    if (!s.ok()) {
      return Status::InvalidArgument("upsert_batch row " + std::to_string(i) + ": " +
                                     std::string(s.message()));
    }
  }
  if (ids.empty()) return Status::OK();
  IQDB_RETURN_IF_ERROR(writable());
  if (durability_) return durability_->upsert_batch(ids, rows, metadata);
  std::unique_lock lock(mutex_);
  return apply_upsert_batch(ids, rows, metadata);
}

Result<bool> DatabaseImpl::remove(const VectorId& id) {
  IQDB_RETURN_IF_ERROR(writable());
  if (durability_) return durability_->remove(id);
  std::unique_lock lock(mutex_);
  return apply_remove(id);
}

// ---- reads ----

Result<std::optional<Record>> DatabaseImpl::get(const VectorId& id) const {
  if (closed_.load(std::memory_order_acquire)) return closed_error();
  std::shared_lock lock(mutex_);
  uint32_t slot = store_.find(id);
  if (slot == index::kNoSlot) return std::optional<Record>();
  Record record;
  record.vector.resize(config_.dim());
  store_.decode_row(slot, record.vector.data());  // what it returns per type: VectorStorage
  if (const Metadata* m = store_.metadata(slot)) record.metadata = *m;
  return std::optional<Record>(std::move(record));
}

size_t DatabaseImpl::size() const {
  std::shared_lock lock(mutex_);
  return store_.size();
}

std::vector<util::Candidate> DatabaseImpl::search_locked(const float* query,
                                                         const SearchParams& params) const {
  index::QueryScorer scorer(store_, query);
  std::optional<MetadataPredicate> predicate;
  if (params.filter != nullptr) predicate.emplace(store_, *params.filter);
  const index::SlotPredicate* pred = predicate ? &*predicate : nullptr;
  if (ann_ && !params.exact) return ann_->search(scorer, params.k, index::AnnKnobs{params.ef, params.n_probes}, pred);
  return index::flat_search(scorer, params.k, pred);
}

std::vector<Hit> DatabaseImpl::to_hits(const std::vector<util::Candidate>& found, const float* query,
                                       bool with_metadata) const {
  index::QueryScorer scorer(store_, query);
  std::vector<Hit> hits;
  hits.reserve(found.size());
  for (const util::Candidate& c : found) {
    Hit hit{store_.id(c.slot), scorer.to_user_distance(c.distance), std::nullopt};
    if (with_metadata) {
      if (const Metadata* m = store_.metadata(c.slot)) hit.metadata = *m;
    }
    hits.push_back(std::move(hit));
  }
  return hits;
}

Result<std::vector<Hit>> DatabaseImpl::search(std::span<const float> query,
                                              const SearchParams& params) const {
  if (closed_.load(std::memory_order_acquire)) return closed_error();
  IQDB_RETURN_IF_ERROR(db::check_vector(query, config_.dim(), "query"));
  IQDB_RETURN_IF_ERROR(db::check_search(params));
  if (!params.filters.empty()) {
    return Status::InvalidArgument("per-query filters are for search_batch; search takes one filter");
  }
  std::shared_lock lock(mutex_);
  return search_one(query, params);
}

std::vector<Hit> DatabaseImpl::search_one(std::span<const float> query, const SearchParams& params) const {
  std::string key;
  if (cache_) {
    key = db::ResultCache::key(query, params);
    if (auto cached = cache_->lookup(key)) return std::move(*cached);
  }
  std::vector<util::Candidate> found = search_locked(query.data(), params);
  std::vector<Hit> hits = to_hits(found, query.data(), params.with_metadata);
  if (cache_) cache_->insert(key, query, params, hits, found.empty() ? 0.0f : found.back().distance);
  return hits;
}

Result<std::vector<std::vector<Hit>>> DatabaseImpl::search_batch(std::span<const float> queries,
                                                                 const SearchParams& params) const {
  if (closed_.load(std::memory_order_acquire)) return closed_error();
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
  if ((!ann_ || params.exact) && !cache_) {
    // Flat and uncached: score the whole batch at once (index/flat_batch.h);
    // the answers are exactly search()'s. With a cache, each query goes
    // through it below instead.
    std::optional<MetadataPredicate> predicate;
    if (params.filter != nullptr) predicate.emplace(store_, *params.filter);
    auto found = index::flat_search_batch(store_, queries.data(), n, params.k,
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

bool DatabaseImpl::read_only() const noexcept { return durability_ && durability_->read_only(); }

Status DatabaseImpl::optimize() {
  IQDB_RETURN_IF_ERROR(writable());
  std::unique_lock lock(mutex_);
  if (cache_) cache_->clear();
  return ann_ ? ann_->optimize() : Status::OK();
}

Status DatabaseImpl::flush() {
  if (closed_.load(std::memory_order_acquire)) return closed_error();
  if (!durability_) return Status::OK();
  return durability_->flush();
}

Status DatabaseImpl::close() {
  if (closed_.exchange(true, std::memory_order_acq_rel)) return closed_error();
  if (!durability_) return Status::OK();
  Status s = durability_->close();
  return s;
}

std::optional<CacheStats> DatabaseImpl::cache_stats() const {
  if (!cache_) return std::nullopt;
  return cache_->stats();
}

}  // namespace iqdb
