#include "db/result_cache.h"

#include <cmath>
#include <cstring>

#include "index/scorer.h"

namespace iqdb::db {
namespace {

constexpr uint64_t kTickBits = 40;
constexpr uint64_t kTickMask = (uint64_t{1} << kTickBits) - 1;

// Whether the record in `slot` could appear in a result filtered by `filter`.
bool record_matches(const index::VectorStore& store, uint32_t slot,
                    const std::optional<Filter>& filter) {
  if (!filter) return true;
  const Metadata* m = store.metadata(slot);
  return m ? filter->matches(*m) : filter->matches_empty();
}

}  // namespace

ResultCache::ResultCache(const CacheConfig& config, bool exact_index)
    : config_(config), exact_index_(exact_index) {}

std::string ResultCache::key(std::span<const float> query, const SearchParams& params) {
  std::string key;
  key.reserve(query.size() * sizeof(float) + 64);
  key.append(reinterpret_cast<const char*>(query.data()), query.size() * sizeof(float));
  auto put = [&](uint64_t v) { key.append(reinterpret_cast<const char*>(&v), sizeof v); };
  put(params.k);
  put(params.ef);
  put(params.n_probes);
  put(params.with_metadata ? 1 : 0);
  put(params.exact ? 1 : 0);
  if (params.filter != nullptr) key += params.filter->to_string();
  return key;
}

uint64_t ResultCache::eviction_rank(const Entry& e, uint64_t tick) const {
  switch (config_.policy) {
    case CacheConfig::Policy::kFifo: return e.order;  // set once, at insertion
    case CacheConfig::Policy::kLfu: return (e.frequency << kTickBits) | (tick & kTickMask);
    case CacheConfig::Policy::kLru: break;
  }
  return tick;
}

void ResultCache::touch(Map::iterator it) {
  Entry& e = it->second;
  ++e.frequency;
  if (config_.policy == CacheConfig::Policy::kFifo) return;
  eviction_.erase({e.order, &it->first});
  e.order = eviction_rank(e, ++tick_);
  eviction_.insert({e.order, &it->first});
}

void ResultCache::erase(Map::iterator it) {
  eviction_.erase({it->second.order, &it->first});
  entries_.erase(it);
}

void ResultCache::evict_if_full() {
  while (!eviction_.empty() && entries_.size() >= config_.capacity) {
    auto victim = entries_.find(*eviction_.begin()->second);
    erase(victim);
    ++evictions_;
  }
}

std::optional<std::vector<Hit>> ResultCache::lookup(const std::string& key) {
  std::lock_guard l(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    ++misses_;
    return std::nullopt;
  }
  if (config_.ttl.count() > 0 && Clock::now() >= it->second.expires) {
    erase(it);
    ++misses_;
    return std::nullopt;
  }
  touch(it);
  ++hits_;
  return it->second.hits;
}

void ResultCache::insert(const std::string& key, std::span<const float> query,
                         const SearchParams& params, const std::vector<Hit>& hits,
                         float kth_ranking_distance) {
  std::lock_guard l(mu_);
  if (config_.capacity == 0 || entries_.count(key) != 0) return;
  evict_if_full();
  Entry e;
  e.hits = hits;
  e.query.assign(query.begin(), query.end());
  if (params.filter != nullptr) e.filter = *params.filter;
  e.k = params.k;
  e.kth = kth_ranking_distance;
  e.frequency = 1;
  e.expires = Clock::now() + config_.ttl;
  ++tick_;
  e.order = config_.policy == CacheConfig::Policy::kFifo ? tick_ : eviction_rank(e, tick_);
  auto [it, inserted] = entries_.emplace(key, std::move(e));
  eviction_.insert({it->second.order, &it->first});
}

void ResultCache::invalidate_containing(const VectorId& id) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    bool contains = false;
    for (const Hit& h : it->second.hits) contains = contains || h.id == id;
    auto next = std::next(it);
    if (contains) erase(it);
    it = next;
  }
}

void ResultCache::invalidate_for(const index::VectorStore& store, uint32_t slot, bool replaced) {
  const VectorId& id = store.id(slot);
  for (auto it = entries_.begin(); it != entries_.end();) {
    auto next = std::next(it);
    Entry& e = it->second;
    bool stale = false;
    if (replaced) {
      for (const Hit& h : e.hits) stale = stale || h.id == id;
    }
    if (!stale && record_matches(store, slot, e.filter)) {
      if (e.hits.size() < e.k) {
        stale = true;  // the result held every match; a new match joins it
      } else {
        // Kernels may sum in another order than the search that produced
        // kth did, so near-ties count as changes; a replaced record keeps
        // its insertion order and can win an exact tie.
        index::QueryScorer scorer(store, e.query.data());
        float d = scorer(slot);
        float margin = std::abs(e.kth) * 1e-5f + 1e-30f;
        stale = replaced ? d <= e.kth + margin : d < e.kth + margin;
      }
    }
    if (stale) erase(it);
    it = next;
  }
}

void ResultCache::on_upsert(const index::VectorStore& store, uint32_t slot, bool replaced) {
  std::lock_guard l(mu_);
  if (entries_.empty()) return;
  if (!exact_index_) {
    clear_locked();
    return;
  }
  invalidate_for(store, slot, replaced);
}

void ResultCache::on_upsert_many(const index::VectorStore& store, std::span<const uint32_t> slots,
                                 bool any_replaced) {
  std::lock_guard l(mu_);
  if (entries_.empty()) return;
  // Checking every entry against every row costs entries x rows distances;
  // past a budget, clearing is cheaper than checking.
  if (!exact_index_ || entries_.size() * slots.size() > (1u << 20)) {
    clear_locked();
    return;
  }
  for (uint32_t slot : slots) invalidate_for(store, slot, any_replaced);
}

void ResultCache::on_remove(const VectorId& id) {
  std::lock_guard l(mu_);
  if (!exact_index_) {
    clear_locked();
    return;
  }
  invalidate_containing(id);
}

void ResultCache::clear() {
  std::lock_guard l(mu_);
  clear_locked();
}

void ResultCache::clear_locked() {
  if (entries_.empty()) return;
  if (cleared_.empty()) {
    // The eviction keys point into the map's nodes, which move with it.
    cleared_.swap(entries_);
    cleared_eviction_.swap(eviction_);
  } else {  // a second clear before the first was released
    entries_.clear();
    eviction_.clear();
  }
}

void ResultCache::release_cleared() {
  Map entries;
  Eviction eviction;
  {
    std::lock_guard l(mu_);
    if (cleared_.empty()) return;
    entries.swap(cleared_);
    eviction.swap(cleared_eviction_);
  }
  // Freed here, with no lock held.
}

CacheStats ResultCache::stats() const {
  std::lock_guard l(mu_);
  CacheStats s;
  s.hits = hits_;
  s.misses = misses_;
  s.evictions = evictions_;
  s.length = entries_.size();
  s.capacity = config_.capacity;
  return s;
}

}  // namespace iqdb::db
