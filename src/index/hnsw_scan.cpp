// HnswIndex: the exact scan of a filter's matching rows, on the SQ8 codes
// when walks use them.
//
// A row's code distance S and its true distance T (both in grid steps: the
// square root of the code distance for L2) differ by at most the row's
// rounding radius r plus the query's r_q (Sq8Codes::rerank_candidates). The
// scan scores the codes of every matching row (a quarter of the bytes of
// its f32 row), keeps the k smallest upper bounds S + r + r_q, and
// shortlists every row whose lower bound S - r - r_q does not exceed the
// k-th of them. The k-th smallest upper bound is at least the k-th smallest
// true distance, so the true k nearest are all on the shortlist; the
// bounded rerank (HnswIndex::rerank) then finds them exactly, reading f32
// rows only where the bounds leave the order open. Rows whose lower bound
// is already past the k-th upper bound are abandoned part way through
// their codes (Sq8Codes::distances_within).
//
// Dot and cosine codes have no such bound, and a fixed rerank depth
// (Options::rerank) is not exact: those scans read the f32 rows
// (flat_search). Matching rows not in the graph yet (their codes may not be
// written) are scored on their f32 rows and merged in.

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <vector>

#include "index/flat.h"
#include "index/hnsw.h"
#include "index/hnsw_graph.h"
#include "index/hnsw_internal.h"
#include "index/hnsw_layer.h"
#include "index/hnsw_sq8.h"

namespace iqdb::index {

using hnsw::Cand;
using hnsw::Scratch;

namespace {

// Slots scored together.
constexpr size_t kScanBatch = 256;
// Relative slack against float rounding in the bounds (as in
// Sq8Codes::ranking_lower_bound): it only ever keeps more rows.
constexpr float kSlack = 1e-4f;

// The k smallest upper bounds seen; their largest is the limit a lower
// bound must not exceed.
class UpperBounds {
 public:
  explicit UpperBounds(size_t k) : k_(k) { heap_.reserve(k); }
  float limit() const noexcept {
    return heap_.size() < k_ ? std::numeric_limits<float>::infinity() : heap_.front();
  }
  void push(float up) {
    if (heap_.size() < k_) {
      heap_.push_back(up);
      std::push_heap(heap_.begin(), heap_.end());
    } else if (up < heap_.front()) {
      std::pop_heap(heap_.begin(), heap_.end());
      heap_.back() = up;
      std::push_heap(heap_.begin(), heap_.end());
    }
  }

 private:
  size_t k_;
  std::vector<float> heap_;  // max-heap
};

}  // namespace

bool HnswIndex::scans_codes() const noexcept {
  const Metric metric = store_->metric();
  return walk_codes() != nullptr && options_.rerank == 0 &&
         (metric == Metric::kL2 || metric == Metric::kL1);
}

std::vector<util::Candidate> HnswIndex::scan_matches(const QueryScorer& query, size_t k,
                                                     const SlotPredicate* filter) const {
  if (filter == nullptr || !scans_codes()) return flat_search(query, k, filter);
  const hnsw::Sq8Codes* codes = walk_codes();
  const bool l2 = store_->metric() == Metric::kL2;
  Scratch& s = hnsw::search_scratch();
  s.query_codes.resize(codes->kernel_dim());
  const float rq = codes->encode_query(query.query(), s.query_codes.data());
  const int16_t* q = s.query_codes.data();
  auto steps = [l2](float d) { return l2 ? std::sqrt(std::max(d, 0.0f)) : d; };

  UpperBounds bounds(k);
  std::vector<Cand>& shortlist = s.found;
  shortlist.clear();
  std::vector<uint32_t> pending;  // matching rows without codes yet
  uint32_t slots[kScanBatch];
  float dists[kScanBatch];
  const uint32_t capacity = graph_->capacity();

  auto score = [&](size_t n) {
    float rmax = 0.0f;
    for (size_t i = 0; i < n; ++i) rmax = std::max(rmax, codes->radius(slots[i]));
    const float limit = bounds.limit();
    float cut = std::numeric_limits<float>::max();
    if (limit != std::numeric_limits<float>::infinity()) {
      // Past `cut` a row's lower bound exceeds the limit whatever its radius.
      const float x = (limit / (1.0f - kSlack) + rmax + rq) * (1.0f + kSlack);
      cut = l2 ? x * x : x;
    }
    codes->distances_within(q, slots, n, cut, dists);
    for (size_t i = 0; i < n; ++i) {
      if (dists[i] > cut) continue;
      const float st = steps(dists[i]);
      const float r = codes->radius(slots[i]) + rq;
      bounds.push((st + r) * (1.0f + kSlack));
      if ((st - r) * (1.0f - kSlack) <= bounds.limit()) shortlist.push_back({dists[i], slots[i]});
    }
  };
  size_t n = 0;
  auto visit = [&](uint32_t slot) {
    if (!store_->is_live(slot)) return;
    if (slot >= capacity || !graph_->present_acquire(slot)) {
      pending.push_back(slot);
      return;
    }
    slots[n++] = slot;
    if (n == kScanBatch) {
      score(n);
      n = 0;
    }
  };
  if (const util::Bitmap* set = filter->matching_slots()) {
    const std::vector<uint64_t>& words = set->words();
    for (size_t w = 0; w < words.size(); ++w) {
      for (uint64_t bits = words[w]; bits != 0; bits &= bits - 1) {
        visit(static_cast<uint32_t>(w * 64 + static_cast<size_t>(std::countr_zero(bits))));
      }
    }
  } else {
    const uint32_t end = store_->slot_end();
    for (uint32_t slot = 0; slot < end; ++slot) {
      if (store_->is_live(slot) && filter->matches(slot)) visit(slot);
    }
  }
  if (n != 0) score(n);

  // Drop what the final limit rules out, then rerank nearest code first.
  const float limit = bounds.limit();
  std::erase_if(shortlist, [&](const Cand& c) {
    return (steps(c.dist) - codes->radius(c.slot) - rq) * (1.0f - kSlack) > limit;
  });
  std::sort(shortlist.begin(), shortlist.end(),
            [](const Cand& a, const Cand& b) { return a.dist < b.dist; });
  std::vector<util::Candidate> hits = rerank(query, shortlist, k, Rerank::kSq8Bounded, rq);
  if (pending.empty()) return hits;
  util::TopK top(k);
  for (const util::Candidate& c : hits) top.push(c);
  std::vector<float> exact(pending.size());
  query.gather(pending.data(), pending.size(), exact.data());
  for (size_t i = 0; i < pending.size(); ++i) {
    top.push({exact[i], store_->sequence(pending[i]), pending[i]});
  }
  return top.take_sorted();
}

}  // namespace iqdb::index
