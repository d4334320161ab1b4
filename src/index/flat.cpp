#include "index/flat.h"

#include <algorithm>

namespace iqdb::index {
namespace {

// Rows scored per kernel call: big enough to amortise the call, small
// enough that the distances stay in L1.
constexpr size_t kBlockRows = 256;

// Candidates a scan of lossy codes hands to the exact rerank: enough that
// the code error rarely pushes a true neighbour out (see the recall tests).
size_t rerank_count(size_t k) { return std::max(4 * k, k + 32); }

// Scores only the members of `set` (the exact matching slots): the cost
// follows the matches, not the rows.
std::vector<util::Candidate> scan_set(const QueryScorer& scorer, size_t k,
                                      const util::Bitmap& set) {
  const VectorStore& store = scorer.store();
  util::TopK top(k);
  float dist[kBlockRows];
  uint32_t slots[kBlockRows];
  uint32_t m = 0;
  auto flush = [&] {
    scorer.gather(slots, m, dist);
    for (uint32_t i = 0; i < m; ++i) {
      if (dist[i] <= top.threshold()) top.push({dist[i], store.sequence(slots[i]), slots[i]});
    }
    m = 0;
  };
  const uint32_t end = store.slot_end();
  set.for_each([&](size_t s) {
    const auto slot = static_cast<uint32_t>(s);
    if (slot >= end || !store.is_live(slot)) return;
    slots[m++] = slot;
    if (m == kBlockRows) flush();
  });
  if (m != 0) flush();
  return top.take_sorted();
}

std::vector<util::Candidate> scan(const QueryScorer& scorer, size_t k,
                                  const SlotPredicate* predicate) {
  if (predicate != nullptr) {
    if (const util::Bitmap* set = predicate->matching_slots()) return scan_set(scorer, k, *set);
  }
  const VectorStore& store = scorer.store();
  util::TopK top(k);
  float dist[kBlockRows];
  uint32_t slots[kBlockRows];
  const uint32_t end = store.slot_end();
  const bool dense = predicate == nullptr && store.size() == end;
  for (uint32_t first = 0; first < end; first += kBlockRows) {
    uint32_t n = std::min<uint32_t>(kBlockRows, end - first);
    if (dense) {
      // Every slot is live and wanted: stream the rows in order.
      scorer.block(first, n, dist);
      float threshold = top.threshold();
      for (uint32_t i = 0; i < n; ++i) {
        if (dist[i] <= threshold) {
          top.push({dist[i], store.sequence(first + i), first + i});
          threshold = top.threshold();
        }
      }
      continue;
    }
    uint32_t m = 0;
    for (uint32_t s = first; s < first + n; ++s) {
      if (store.is_live(s) && (predicate == nullptr || predicate->matches(s))) slots[m++] = s;
    }
    if (m == 0) continue;
    scorer.gather(slots, m, dist);
    for (uint32_t i = 0; i < m; ++i) {
      if (dist[i] <= top.threshold()) top.push({dist[i], store.sequence(slots[i]), slots[i]});
    }
  }
  return top.take_sorted();
}

}  // namespace

std::vector<util::Candidate> flat_search(const QueryScorer& scorer, size_t k,
                                         const SlotPredicate* predicate) {
  const VectorStore& store = scorer.store();
  if (scorer.on_codes() || !store.has_codes() || !store.storage().lossy()) {
    return scan(scorer, k, predicate);
  }
  // A lossy store that keeps f32 rows: scan the compact codes, rerank the
  // best of them on the exact rows.
  const QueryScorer coarse(store, scorer.query(), RowSource::kCodes);
  std::vector<util::Candidate> shortlist = scan(coarse, rerank_count(k), predicate);
  std::vector<uint32_t> slots(shortlist.size());
  for (size_t i = 0; i < shortlist.size(); ++i) slots[i] = shortlist[i].slot;
  std::vector<float> dist(slots.size());
  scorer.gather(slots.data(), slots.size(), dist.data());
  util::TopK top(k);
  for (size_t i = 0; i < slots.size(); ++i) {
    if (dist[i] <= top.threshold()) top.push({dist[i], store.sequence(slots[i]), slots[i]});
  }
  return top.take_sorted();
}

}  // namespace iqdb::index
