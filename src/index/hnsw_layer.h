// The inner loops of HNSW: per-thread scratch (epoch-tagged visited set,
// sorted candidate pool), the two distance "spaces" a walk can run in (SQ8
// codes or exact f32 rows), greedy descent and the beam search of one layer.
// Private to src/index/hnsw*.cpp.
//
// Thread-safety: the functions only read the graph (through its seqlocked
// read_links) and write the calling thread's Scratch.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <vector>
#include <atomic>
#include <cstdio>

#include "index/hnsw_graph.h"
#include "index/hnsw_sq8.h"
#include "index/scorer.h"

namespace iqdb::index::hnsw {

struct Cand {
  float dist;
  uint32_t slot;
};

// Which slots the current walk has touched. A slot is visited when its tag
// equals the walk's epoch, so starting a walk costs one increment, not a
// clear. Slots beyond the size given to begin() (added by a concurrent
// insert after the walk started) count as visited: they are skipped.
class VisitedSet {
 public:
  void begin(size_t slots) {
    if (tags_.size() < slots) tags_.resize(slots + slots / 4, 0);
    if (++epoch_ == 0) {  // wrapped: old tags could collide
      std::fill(tags_.begin(), tags_.end(), uint16_t{0});
      epoch_ = 1;
    }
    limit_ = std::min(slots, tags_.size());
  }
  // True if already visited; marks it otherwise.
  bool test_and_set(uint32_t slot) noexcept {
    if (slot >= limit_) return true;
    uint16_t& tag = tags_[slot];
    if (tag == epoch_) return true;
    tag = epoch_;
    return false;
  }
  bool contains(uint32_t slot) const noexcept { return slot >= limit_ || tags_[slot] == epoch_; }

 private:
  std::vector<uint16_t> tags_;
  uint16_t epoch_ = 0;
  size_t limit_ = 0;
};

// The beam of a layer search: up to `capacity` candidates sorted by
// distance (ties keep insertion order), each either expanded ("checked") or
// not. One flat array replaces the usual pair of heaps: insertion is a
// binary search and a short memmove, and the next candidate to expand is
// the first unchecked entry.
class CandidatePool {
 public:
  void reset(size_t capacity) {
    capacity_ = capacity;
    if (data_.size() < capacity + 1) data_.resize(capacity + 1);
    size_ = cursor_ = 0;
  }
  size_t size() const noexcept { return size_; }
  bool full() const noexcept { return size_ == capacity_; }
  float worst() const noexcept {
    return size_ ? data_[size_ - 1].dist : std::numeric_limits<float>::infinity();
  }
  // Keeps the candidate if the pool has room or it beats the worst.
  bool insert(float dist, uint32_t slot) noexcept {
    if (size_ == capacity_ && !(dist < data_[size_ - 1].dist)) return false;
    size_t lo = 0, hi = size_;
    while (lo < hi) {  // first entry with a larger distance
      const size_t mid = (lo + hi) / 2;
      if (data_[mid].dist <= dist) lo = mid + 1; else hi = mid;
    }
    const size_t moved = size_ - lo - (size_ == capacity_ ? 1 : 0);
    std::memmove(&data_[lo + 1], &data_[lo], moved * sizeof(Entry));
    data_[lo] = Entry{dist, slot};
    if (size_ < capacity_) ++size_;
    if (lo < cursor_) cursor_ = lo;
    return true;
  }
  bool has_unchecked() const noexcept { return cursor_ < size_; }
  uint32_t peek_unchecked() const noexcept { return data_[cursor_].id; }
  // The nearest unchecked candidate, now checked.
  uint32_t pop_unchecked() noexcept {
    const uint32_t slot = data_[cursor_].id;
    data_[cursor_].id |= kChecked;
    do {
      ++cursor_;
    } while (cursor_ < size_ && (data_[cursor_].id & kChecked) != 0);
    return slot;
  }
  Cand at(size_t i) const noexcept { return Cand{data_[i].dist, data_[i].id & ~kChecked}; }

 private:
  static constexpr uint32_t kChecked = 0x8000'0000u;
  struct Entry {
    float dist;
    uint32_t id;  // slot | kChecked
  };
  std::vector<Entry> data_;
  size_t capacity_ = 0, size_ = 0, cursor_ = 0;
};

// Everything a walk needs, reused across walks on the same thread.
struct Scratch {
  VisitedSet visited;
  CandidatePool pool;
  std::vector<uint32_t> links, ids;
  std::vector<float> dists;
  std::vector<int16_t> query_codes;
  // Used by inserts and repairs around the walks above.
  std::vector<Cand> entries, found, shrink;
  std::vector<uint32_t> selected, shrink_links, shrink_selected;

  void prepare(size_t max_links) {
    if (links.size() < max_links) {
      links.resize(max_links);
      ids.resize(max_links);
      dists.resize(max_links);
    }
  }
};
// The calling thread's scratch for searches (a separate one serves inserts,
// which run searches of their own).
Scratch& search_scratch();
Scratch& build_scratch();

// ---- Spaces: distances from one query to stored slots.

// On SQ8 codes: `q` holds the query's codes (Sq8Codes::encode_query/widen)
// and `radius` its rounding error radius.
struct Sq8Space {
  const Sq8Codes* codes;
  const int16_t* q;
  float radius = 0.0f;
  float distance(uint32_t slot) const noexcept { return codes->distance(q, slot); }
  void distances(const uint32_t* slots, size_t n, float* out) const noexcept {
    codes->distances(q, slots, n, out);
  }
  void prefetch(uint32_t slot) const noexcept { __builtin_prefetch(codes->codes(slot), 0, 3); }
};

// On the exact f32 rows (ranking distances of QueryScorer).
struct F32Space {
  const QueryScorer* scorer;
  float distance(uint32_t slot) const noexcept { return (*scorer)(slot); }
  void distances(const uint32_t* slots, size_t n, float* out) const noexcept {
    scorer->gather(slots, n, out);
  }
  void prefetch(uint32_t slot) const noexcept {
    __builtin_prefetch(scorer->store().row(slot), 0, 3);
  }
};

// Greedy walk on levels top..bottom+1 (ef = 1): moves to the nearest
// neighbour while that improves.
template <class Space>
Cand greedy_descend(const HnswGraph& graph, const Space& space, Cand cur, uint32_t top,
                    uint32_t bottom, Scratch& s) {
  s.prepare(graph.max_links(1));
  for (uint32_t level = top; level > bottom; --level) {
    for (bool moved = true; moved;) {
      moved = false;
      const size_t n = graph.read_links(cur.slot, level, s.links.data());
      space.distances(s.links.data(), n, s.dists.data());
      for (size_t i = 0; i < n; ++i) {
        if (s.dists[i] < cur.dist) {
          cur = Cand{s.dists[i], s.links[i]};
          moved = true;
        }
      }
    }
  }
  return cur;
}

// Beam search of one level from `entries`: leaves the (up to) ef nearest
// slots found in s.pool, nearest first.
template <class Space>
void search_layer(const HnswGraph& graph, const Space& space, uint32_t level, size_t ef,
                  std::span<const Cand> entries, Scratch& s) {
  s.prepare(graph.max_links(level));
  s.visited.begin(graph.capacity());
  s.pool.reset(ef);
  for (const Cand& e : entries) {
    if (!s.visited.test_and_set(e.slot)) s.pool.insert(e.dist, e.slot);
  }
  uint32_t* links = s.links.data();
  uint32_t* ids = s.ids.data();
  float* dists = s.dists.data();
  while (s.pool.has_unchecked()) {
    const uint32_t u = s.pool.pop_unchecked();
    if (s.pool.has_unchecked()) graph.prefetch_links(s.pool.peek_unchecked(), level);
    const size_t n = graph.read_links(u, level, links);
    size_t m = 0;
    for (size_t i = 0; i < n; ++i) {
      const uint32_t v = links[i];
      if (!s.visited.test_and_set(v)) {
        space.prefetch(v);
        ids[m++] = v;
      }
    }
    if (m == 0) continue;
    { static std::atomic<size_t> rows{0}, expansions{0}; rows += m; if (++expansions % 2000000 == 0) fprintf(stderr, "rows/expansion %.2f (n=%zu)\n", double(rows)/expansions, n); }
    space.distances(ids, m, dists);
    for (size_t i = 0; i < m; ++i) s.pool.insert(dists[i], ids[i]);
  }
}

}  // namespace iqdb::index::hnsw
