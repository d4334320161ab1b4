// The inner loops of HNSW: per-thread scratch (epoch-tagged visited set,
// sorted candidate pool), the two distance "spaces" a walk can run in (SQ8
// codes or exact f32 rows), greedy descent, and the one search of a layer
// with its two beams (every slot a result, or only those a predicate
// accepts).
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
#include <optional>
#include <span>
#include <vector>

#include "index/hnsw_graph.h"
#include "index/hnsw_sq8.h"
#include "index/scorer.h"
#include "util/visited_set.h"

namespace iqdb::index::hnsw {

struct Cand {
  float dist;
  uint32_t slot;
};

inline constexpr float kNoBound = std::numeric_limits<float>::infinity();

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
  static constexpr size_t kRejected = ~size_t{0};
  // Keeps the candidate if the pool has room or it beats the worst; returns
  // its position, or kRejected.
  size_t insert(float dist, uint32_t slot) noexcept {
    if (size_ == capacity_ && !(dist < data_[size_ - 1].dist)) return kRejected;
    size_t lo = 0, hi = size_;
    while (lo < hi) {  // first entry with a larger distance
      const size_t mid = (lo + hi) / 2;
      if (data_[mid].dist <= dist) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    const size_t moved = size_ - lo - (size_ == capacity_ ? 1 : 0);
    std::memmove(&data_[lo + 1], &data_[lo], moved * sizeof(Entry));
    data_[lo] = Entry{dist, slot};
    if (size_ < capacity_) ++size_;
    if (lo < cursor_) cursor_ = lo;
    return lo;
  }
  // Position of the nearest unchecked candidate (== size() when none).
  size_t cursor() const noexcept { return cursor_; }
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
  util::VisitedSet visited;
  CandidatePool pool;
  std::vector<uint32_t> links, ids;
  std::vector<float> dists;
  std::vector<int16_t> query_codes;
  // Used by inserts and repairs around the walks above.
  std::vector<Cand> entries, found, shrink;
  std::vector<uint32_t> selected, shrink_links, shrink_selected;
  // A node's links and a neighbour's, read by a walk of the matching
  // subgraph (AcceptMatchingSubgraph).
  std::vector<uint32_t> hop, hop2;

  void prepare(size_t max_links) {
    if (links.size() < max_links) {
      links.resize(max_links);
      ids.resize(max_links);
      dists.resize(max_links);
    }
  }
  void prepare_hops(size_t max_links) {
    if (hop.size() < max_links) hop.resize(max_links);
    if (hop2.size() < max_links) hop2.resize(max_links);
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
  void distances_within(const uint32_t* slots, size_t n, float bound, float* out) const noexcept {
    codes->distances_within(q, slots, n, bound, out);
  }
  // The head of the code row: a walk asks for all unvisited neighbours at
  // once, so their first misses overlap; the gather kernel prefetches each
  // whole row a little before it reads it. Asking for every line of every
  // row here instead queues more misses than the core can keep in flight.
  // (Its first 128 bytes, as two prefetches.)
  void prefetch(uint32_t slot) const noexcept {
    const char* p = reinterpret_cast<const char*>(codes->codes(slot));
    __builtin_prefetch(p, 0, 3);
    if (codes->kernel_dim() > 64) __builtin_prefetch(p + 64, 0, 3);
  }
};

// Through a QueryScorer: the store's f32 rows, or its code rows (u8, f16,
// bf16, SQ8) when it keeps codes.
struct ScorerSpace {
  const QueryScorer* scorer;
  float distance(uint32_t slot) const noexcept { return (*scorer)(slot); }
  void distances(const uint32_t* slots, size_t n, float* out) const noexcept {
    scorer->gather(slots, n, out);
  }
  void distances_within(const uint32_t* slots, size_t n, float, float* out) const noexcept {
    scorer->gather(slots, n, out);
  }
  void prefetch(uint32_t slot) const noexcept { scorer->store().prefetch(slot); }
};

// Distances from one stored slot to others, in the representation walks
// use: SQ8 code distances when `codes` is given, else a QueryScorer on the
// store's codes (or f32 rows) with the slot's own vector as the query.
class PairFrom {
 public:
  PairFrom(const VectorStore& store, const Sq8Codes* codes) : store_(store), codes_(codes) {}
  void reset(uint32_t from) {
    from_ = from;
    if (codes_ != nullptr) return;
    const float* q;
    if (store_.has_f32_rows()) {
      q = store_.row(from);
    } else {
      buffer_.resize(store_.dim());
      store_.decode_row(from, buffer_.data());
      q = buffer_.data();
    }
    scorer_.emplace(store_, q, RowSource::kCodes);
  }
  float operator()(uint32_t to) const noexcept {
    return codes_ != nullptr ? codes_->distance(from_, to) : (*scorer_)(to);
  }
  // The scorer of the current slot (requires no `codes`).
  const QueryScorer& scorer() const noexcept { return *scorer_; }

 private:
  const VectorStore& store_;
  const Sq8Codes* codes_;
  uint32_t from_ = 0;
  std::vector<float> buffer_;
  std::optional<QueryScorer> scorer_;
};

// Greedy walk on levels top..bottom+1 (ef = 1): moves to the nearest
// neighbour while that improves.
//
// A slot scored once in the descent (on any of its levels) is not scored
// again: it was either moved to or found no nearer than `cur` was then, and
// cur only gets nearer, so it can never be moved to. The result is the one
// a descent scoring every neighbour finds; it only skips the links back to
// where it came from and the neighbours two lists share.
template <class Space>
Cand greedy_descend(const HnswGraph& graph, const Space& space, Cand cur, uint32_t top,
                    uint32_t bottom, Scratch& s) {
  if (top <= bottom) return cur;
  s.prepare(graph.max_links(1));
  s.visited.begin(graph.capacity());
  s.visited.test_and_set(cur.slot);
  uint32_t* links = s.links.data();
  uint32_t* ids = s.ids.data();
  float* dists = s.dists.data();
  for (uint32_t level = top; level > bottom; --level) {
    for (bool moved = true; moved;) {
      moved = false;
      const size_t n = graph.read_links(cur.slot, level, links);
      size_t m = 0;
      for (size_t i = 0; i < n; ++i) {
        if (!s.visited.test_and_set(links[i])) ids[m++] = links[i];
      }
      // Only a neighbour nearer than `cur` is moved to, so a distance may be
      // abandoned once it exceeds cur.dist (cur only gets nearer below).
      space.distances_within(ids, m, cur.dist, dists);
      for (size_t i = 0; i < m; ++i) {
        if (dists[i] < cur.dist) {
          cur = Cand{dists[i], ids[i]};
          moved = true;
        }
      }
    }
  }
  return cur;
}

// ---- Beams: what a layer search keeps, and when it stops.
//
// search_layer() below is the one walk every HNSW search and insert runs;
// a beam decides which scored neighbours it keeps, which node it expands
// next and when it is done. Each is a template argument, so the unfiltered
// walk compiles to the plain beam search with no test per neighbour.
//
// A beam provides (`s` is the walk's scratch, where a beam may keep state):
//   bool offer(Scratch& s, float dist, uint32_t slot)
//       keep a scored, unvisited slot if it can still help; true when it
//       will be expanded next
//   bool pop(Scratch& s, uint32_t& slot)
//       the next node to expand, or false to stop the walk
//   bool peek(const Scratch& s, uint32_t& slot) const
//       the node after that, if known
//   float bound(const Scratch& s) const
//       a neighbour at or past this distance cannot be kept
// and optionally
//   size_t links(const HnswGraph& g, uint32_t u, uint32_t level, Scratch& s,
//                uint32_t* out)
//       the nodes expanding u scores, instead of u's own links

// Every slot may be a result: the ef nearest slots seen, expanded nearest
// first until none is left unexpanded (HNSW's search-layer, Algorithm 2).
// The results are left in s.pool.
class AcceptAll {
 public:
  AcceptAll(Scratch& s, size_t ef) { s.pool.reset(ef); }
  static bool offer(Scratch& s, float dist, uint32_t slot) noexcept {
    return s.pool.insert(dist, slot) <= s.pool.cursor();
  }
  static bool pop(Scratch& s, uint32_t& slot) noexcept {
    if (!s.pool.has_unchecked()) return false;
    slot = s.pool.pop_unchecked();
    return true;
  }
  static bool peek(const Scratch& s, uint32_t& slot) noexcept {
    if (!s.pool.has_unchecked()) return false;
    slot = s.pool.peek_unchecked();
    return true;
  }
  static float bound(const Scratch& s) noexcept {
    return s.pool.full() ? s.pool.worst() : kNoBound;
  }
};

// Only slots the predicate accepts are results; every slot is walked
// through. The frontier holds every node nearer than the ef-th match found
// so far (all of them until ef matches are known), so the walk reaches
// matches behind non-matching neighbours. It stops when ef matches are
// nearer than the rest of the frontier, the frontier is empty, or it has
// expanded `budget` nodes (then exhausted() is true and the results are
// incomplete). `Pred` has bool matches(uint32_t slot) const.
template <class Pred>
class AcceptMatching {
 public:
  // `frontier` and `results` are scratch vectors, cleared here.
  AcceptMatching(const Pred& pred, size_t ef, size_t budget, std::vector<Cand>& frontier,
                 std::vector<Cand>& results)
      : pred_(pred), ef_(ef), budget_(budget), frontier_(frontier), results_(results) {
    frontier_.clear();
    results_.clear();
  }
  bool offer(Scratch&, float dist, uint32_t slot) {
    if (!(dist < bound())) return false;
    frontier_.push_back(Cand{dist, slot});
    std::push_heap(frontier_.begin(), frontier_.end(), NearerFirst{});
    if (pred_.matches(slot)) {
      results_.push_back(Cand{dist, slot});
      std::push_heap(results_.begin(), results_.end(), FartherFirst{});
      if (results_.size() > ef_) {
        std::pop_heap(results_.begin(), results_.end(), FartherFirst{});
        results_.pop_back();
      }
    }
    return frontier_.front().slot == slot;
  }
  bool pop(Scratch&, uint32_t& slot) {
    if (frontier_.empty()) return false;
    const Cand c = frontier_.front();
    if (results_.size() >= ef_ && c.dist > results_.front().dist) return false;
    if (budget_ == 0) {
      exhausted_ = true;
      return false;
    }
    --budget_;
    std::pop_heap(frontier_.begin(), frontier_.end(), NearerFirst{});
    frontier_.pop_back();
    slot = c.slot;
    return true;
  }
  bool peek(const Scratch&, uint32_t& slot) const noexcept {
    if (frontier_.empty()) return false;
    slot = frontier_.front().slot;
    return true;
  }
  float bound() const noexcept { return results_.size() >= ef_ ? results_.front().dist : kNoBound; }
  float bound(const Scratch&) const noexcept { return bound(); }

  // The walk stopped on its budget, not because it converged.
  bool exhausted() const noexcept { return exhausted_; }
  // The matches found, nearest first (ties in no particular order).
  std::span<const Cand> take_sorted() {
    std::sort_heap(results_.begin(), results_.end(), FartherFirst{});
    return results_;
  }

 private:
  struct FartherFirst {  // max-heap on distance
    bool operator()(const Cand& a, const Cand& b) const noexcept { return a.dist < b.dist; }
  };
  struct NearerFirst {  // min-heap on distance
    bool operator()(const Cand& a, const Cand& b) const noexcept { return a.dist > b.dist; }
  };

  const Pred& pred_;
  size_t ef_;
  size_t budget_;
  std::vector<Cand>& frontier_;
  std::vector<Cand>& results_;
  bool exhausted_ = false;
};

// Walks the subgraph of the slots `pred` accepts (the ACORN idea): only
// matching slots are scored, kept and expanded. Expanding u scores its
// matching neighbours, then, through each non-matching neighbour v not
// visited before, v's matching neighbours (two hops), at most `cap` in all:
// the walk then expands about as many nodes as an unfiltered walk of the
// same ef (each reading the lists of its non-matching neighbours), instead
// of the ef / selectivity nodes a walk through every slot expands.
// A node with at least a quarter of its list matching (visited or not) is
// connected to the subgraph by its own links, and expanding it takes no
// second hop: where the filter follows the data (a class around a query of
// that class) the walk then reads few lists beyond an unfiltered walk's,
// and reaches a given recall with fewer distances than the two-hop
// expansion everywhere; sparse neighbourhoods still take the second hop.
// Entries need not match (the entry point found by the descent); those stay
// in the pool as stepping stones, so results are the pool's matching
// entries. `Pred` has bool matches(uint32_t slot) const.
template <class Pred>
class AcceptMatchingSubgraph : public AcceptAll {
 public:
  // Room for `ef` entries and the non-matching `entries` of the walk.
  AcceptMatchingSubgraph(Scratch& s, const Pred& pred, size_t ef, size_t entries, size_t cap,
                         size_t max_links)
      : AcceptAll(s, ef + entries), pred_(pred), cap_(cap), linked_(max_links / 4) {
    s.prepare(std::max(cap, max_links));
    s.prepare_hops(max_links);
  }
  size_t links(const HnswGraph& graph, uint32_t u, uint32_t level, Scratch& s,
               uint32_t* out) const {
    const size_t n = graph.read_links(u, level, s.hop.data());
    size_t m = 0, through = 0, matching = 0;
    for (size_t i = 0; i < n; ++i) {
      const uint32_t v = s.hop[i];
      const bool match = pred_.matches(v);
      matching += match ? 1 : 0;
      if (s.visited.contains(v)) continue;
      if (match) {
        if (m < cap_) out[m++] = v;
      } else {
        // Kept in s.hop (behind the read position) for the second hop.
        s.hop[through++] = v;
      }
    }
    if (matching >= linked_ && linked_ != 0) return m;
    // All lists asked for first, so the reads below overlap.
    for (size_t i = 0; i < through; ++i) graph.prefetch_links(s.hop[i], level);
    for (size_t i = 0; i < through && m < cap_; ++i) {
      const uint32_t v = s.hop[i];
      if (s.visited.test_and_set(v)) continue;
      const size_t n2 = graph.read_links(v, level, s.hop2.data());
      for (size_t j = 0; j < n2 && m < cap_; ++j) {
        const uint32_t w = s.hop2[j];
        if (!s.visited.contains(w) && pred_.matches(w)) out[m++] = w;
      }
    }
    return m;
  }

 private:
  const Pred& pred_;
  size_t cap_;
  size_t linked_;  // matching links that make a node's second hop unneeded
};

// Search of one level from `entries`, kept and ended by `beam`.
template <class Space, class Beam>
void search_layer(const HnswGraph& graph, const Space& space, uint32_t level,
                  std::span<const Cand> entries, Scratch& s, Beam& beam) {
  s.prepare(graph.max_links(level));
  s.visited.begin(graph.capacity());
  for (const Cand& e : entries) {
    if (!s.visited.test_and_set(e.slot)) beam.offer(s, e.dist, e.slot);
  }
  uint32_t* links = s.links.data();
  uint32_t* ids = s.ids.data();
  float* dists = s.dists.data();
  uint32_t u = 0, next = 0;
  while (beam.pop(s, u)) {
    if (beam.peek(s, next)) graph.prefetch_links(next, level);
    size_t n;
    if constexpr (requires { beam.links(graph, u, level, s, links); }) {
      n = beam.links(graph, u, level, s, links);
    } else {
      n = graph.read_links(u, level, links);
    }
    size_t m = 0;
    for (size_t i = 0; i < n; ++i) {
      const uint32_t v = links[i];
      if (!s.visited.test_and_set(v)) {
        space.prefetch(v);
        ids[m++] = v;
      }
    }
    if (m == 0) continue;
    // A neighbour the beam cannot keep may have its distance abandoned part
    // way (exact for what is kept).
    space.distances_within(ids, m, beam.bound(s), dists);
    for (size_t i = 0; i < m; ++i) {
      // A neighbour that will be expanded next: ask for its list now (the
      // prefetch above guessed before it was known).
      if (beam.offer(s, dists[i], ids[i])) graph.prefetch_links(ids[i], level);
    }
  }
}

// The unfiltered beam search of width ef: leaves the (up to) ef nearest
// slots found in s.pool, nearest first.
template <class Space>
void search_layer(const HnswGraph& graph, const Space& space, uint32_t level, size_t ef,
                  std::span<const Cand> entries, Scratch& s) {
  AcceptAll beam(s, ef);
  search_layer(graph, space, level, entries, s, beam);
}

}  // namespace iqdb::index::hnsw
