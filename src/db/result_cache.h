// ResultCache: remembers search results, keyed on the exact query bits, k,
// the filter and the search knobs, and forgets exactly the results a write
// can change.
//
// For the exact (flat) index a write invalidates selectively:
//  - an upsert of record r can only change a cached result for query q if r
//    matches the result's filter and either the result holds fewer than k
//    hits or dist(q, r) is below the k-th hit's distance (a new record has
//    the highest insertion order, so it loses ties); a replaced record also
//    invalidates every result that contained it;
//  - a remove invalidates only the results that contain the removed id.
// For approximate indices a write can reshape the graph or the lists and so
// change any result; every write clears the cache there.
//
// Entries expire after the TTL (if set) and are evicted by LRU, LFU or FIFO
// when the capacity is reached.
//
// Thread-safety: all methods are safe to call concurrently (one internal
// mutex). The database calls lookup/insert while holding its shared lock and
// the on_* hooks while holding its exclusive lock, so a result computed
// before a write can never be inserted after that write's invalidation.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "iqdb/config.h"
#include "iqdb/filter.h"
#include "iqdb/types.h"
#include "index/vector_store.h"

namespace iqdb::db {

class ResultCache {
 public:
  ResultCache(const CacheConfig& config, bool exact_index);

  // The cache key of a search. `query` is dim floats.
  static std::string key(std::span<const float> query, const SearchParams& params);

  // The cached hits, or nullopt (counted as a miss).
  std::optional<std::vector<Hit>> lookup(const std::string& key);
  // Stores a result. `kth_ranking_distance` is the ranking distance of the
  // last hit (ignored when fewer than k hits).
  void insert(const std::string& key, std::span<const float> query, const SearchParams& params,
              const std::vector<Hit>& hits, float kth_ranking_distance);

  // Record `slot` of `store` was inserted or replaced (replaced: it existed).
  void on_upsert(const index::VectorStore& store, uint32_t slot, bool replaced);
  // Many upserts at once (a batch).
  void on_upsert_many(const index::VectorStore& store, std::span<const uint32_t> slots,
                      bool any_replaced);
  void on_remove(const VectorId& id);
  void clear();
  // A clear (above, or one of the hooks on an approximate index) only sets
  // the entries aside, so the exclusive step it runs in stays O(1); this
  // frees them, and is called after that step.
  void release_cleared();

  CacheStats stats() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Entry {
    std::vector<Hit> hits;
    std::vector<float> query;
    std::optional<Filter> filter;
    size_t k = 0;
    float kth = 0;  // ranking distance of the k-th hit
    uint64_t frequency = 0;
    uint64_t order = 0;  // the eviction key's current value
    Clock::time_point expires;
  };
  using Map = std::unordered_map<std::string, Entry>;

  uint64_t eviction_rank(const Entry& e, uint64_t tick) const;
  void touch(Map::iterator it);
  void erase(Map::iterator it);
  void evict_if_full();
  // Drops entries the write of `slot` can change. Caller holds mu_.
  void invalidate_for(const index::VectorStore& store, uint32_t slot, bool replaced);
  void invalidate_containing(const VectorId& id);
  // Empties the cache, setting the entries aside for release_cleared().
  // Caller holds mu_.
  void clear_locked();

  CacheConfig config_;
  bool exact_index_;
  mutable std::mutex mu_;
  Map entries_;
  using Eviction = std::set<std::pair<uint64_t, const std::string*>>;
  Eviction eviction_;  // lowest rank goes first
  Map cleared_;        // set aside by clear_locked()
  Eviction cleared_eviction_;
  uint64_t tick_ = 0;
  uint64_t hits_ = 0, misses_ = 0, evictions_ = 0;
};

}  // namespace iqdb::db
