// HnswIndex: searching, with and without a filter.
//
// Unfiltered: greedy descent to level 1, a beam search of width ef on level
// 0 (on SQ8 codes when trained), then the beam is reranked with exact f32
// distances and the k best returned.
//
// Filtered: the planner (filter_planner.h) counts or estimates the matching
// rows and answers by exact scan of them when that is cheaper than walking.
// Otherwise level 0 is searched with the AcceptMatching beam
// (hnsw_layer.h): every node is walked through, only matching ones are
// results, and the walk stops once it holds ef matches nearer than its
// frontier. A walk that runs out of its expansion budget, or finds fewer
// than k matches, is replaced by the exact scan, so the result always has
// min(k, matching rows) hits.
//
// Filtered, with the exact matching set known and a middling selectivity:
// the planner may instead walk the subgraph of matching slots
// (AcceptMatchingSubgraph): from the node the descent ends on and, unless
// that node matches, from members spread over the set (so matches far from
// the query are reached too), scoring only matching slots. It converges like an unfiltered walk;
// only a subgraph too sparse to yield k matches falls back to the scan, and
// a query whose neighbourhood (the descent's last node and its links) holds
// no match is answered by the scan: its matches lie elsewhere.

#include <algorithm>
#include <bit>
#include <limits>

#include "index/filter_planner.h"
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
// Rows rescored together after the first k (see HnswIndex::rerank): small,
// so each batch is filtered by the k-th true distance found so far.
constexpr size_t kRerankChunk = 4;
}  // namespace

std::vector<util::Candidate> HnswIndex::search(const QueryScorer& query, size_t k,
                                               const AnnKnobs& knobs,
                                               const SlotPredicate* filter) const {
  return search(query, k, knobs.ef, filter);
}

std::vector<util::Candidate> HnswIndex::search(const QueryScorer& query, size_t k, size_t ef,
                                               const SlotPredicate* filter) const {
  if (k == 0) return {};
  ef = std::max(ef != 0 ? ef : config_.ef_search, k);
  const bool sq8 = uses_sq8();
  // Nodes a filtered walk may expand before it gives up for the exact scan.
  size_t budget = std::numeric_limits<size_t>::max();
  const util::Bitmap* subgraph = nullptr;
  size_t matches = 0;  // the size of `subgraph`
  if (filter != nullptr && options_.subgraph_walk) {
    subgraph = filter->matching_slots();
    if (subgraph != nullptr) matches = subgraph->count();
  } else if (filter != nullptr && options_.plan_filters) {
    const FilterCount count = count_matches(*store_, *filter);
    const WalkPlan plan = plan_graph_walk(count, ef, config_.m, sq8, store_->dim());
    if (plan.scan) return scan_matches(query, k, filter);
    budget = plan.expansion_budget;
    if (plan.subgraph) {
      subgraph = filter->matching_slots();
      matches = static_cast<size_t>(count.matches);
    }
  }
  if (entry().slot == kNoSlot) return scan_matches(query, k, filter);
  auto walk_in = [&](const auto& space, Rerank mode, float radius) {
    if (subgraph != nullptr) {
      return search_subgraph_in(space, query, k, ef, *filter, *subgraph, matches, mode, radius);
    }
    return search_in(space, query, k, ef, filter, mode, radius, budget);
  };
  if (sq8) {
    Scratch& s = hnsw::search_scratch();
    s.query_codes.resize(codes_->kernel_dim());
    const float radius = codes_->encode_query(query.query(), s.query_codes.data());
    return walk_in(hnsw::Sq8Space{codes_.get(), s.query_codes.data(), radius}, Rerank::kSq8Bounded,
                   radius);
  }
  if (!store_->has_codes()) return walk_in(hnsw::ScorerSpace{&query}, Rerank::kNone, 0.0f);
  // Walk on the store's codes; rescore with the caller's scorer if it reads
  // another representation (f32 rows kept beside lossy codes).
  const QueryScorer walk(*store_, query.query(), RowSource::kCodes);
  const Rerank mode = walk.on_codes() == query.on_codes() ? Rerank::kNone : Rerank::kAll;
  return walk_in(hnsw::ScorerSpace{&walk}, mode, 0.0f);
}

namespace {

struct InSet {
  const util::Bitmap* set;
  bool matches(uint32_t slot) const noexcept { return set->test(slot); }
};

// Up to `n` members of `set` spread over its slot range: the first member
// at or after each of n evenly spaced points (and after the member taken
// before), ascending. Reads each word at most once and counts none.
size_t spread_members(const util::Bitmap& set, size_t n, uint32_t* out) {
  const std::vector<uint64_t>& words = set.words();
  const size_t bits = words.size() * 64;
  size_t got = 0, from = 0;
  for (size_t i = 0; i < n; ++i) {
    const size_t point = std::max(from, (2 * i + 1) * bits / (2 * n));
    size_t w = point / 64;
    if (w >= words.size()) break;
    uint64_t word = words[w] & (~uint64_t{0} << (point % 64));
    while (word == 0 && ++w < words.size()) word = words[w];
    if (word == 0) break;
    const size_t member = w * 64 + static_cast<size_t>(std::countr_zero(word));
    out[got++] = static_cast<uint32_t>(member);
    from = member + 1;
  }
  return got;
}

}  // namespace

bool HnswIndex::near_match(uint32_t slot, const util::Bitmap& matching, Scratch& s) const {
  if (matching.test(slot)) return true;
  s.prepare_hops(graph_->max_links(0));
  const size_t n = graph_->read_links(slot, 0, s.hop.data());
  for (size_t i = 0; i < n; ++i)
    if (matching.test(s.hop[i])) return true;
  for (size_t i = 0; i < n; ++i) {
    const size_t n2 = graph_->read_links(s.hop[i], 0, s.hop2.data());
    for (size_t j = 0; j < n2; ++j)
      if (matching.test(s.hop2[j])) return true;
  }
  return false;
}

template <class Space>
std::vector<util::Candidate> HnswIndex::search_subgraph_in(
    const Space& space, const QueryScorer& query, size_t k, size_t ef, const SlotPredicate& filter,
    const util::Bitmap& matching, size_t total, Rerank mode, float query_radius) const {
  Scratch& s = hnsw::search_scratch();
  const EntryPoint ep = entry();
  Cand cur{space.distance(ep.slot), ep.slot};
  cur = hnsw::greedy_descend(*graph_, space, cur, ep.level, 0, s);
  // Matches far from the query: when no node within two links of the one
  // the descent ends at matches, the query's neighbourhood holds no match,
  // and a walk among the matches would approach the nearest of them from
  // outside, where their subgraph is thin and its recall poor. The exact
  // scan of the matches answers those queries.
  if (!near_match(cur.slot, matching, s)) return scan_matches(query, k, &filter);
  constexpr size_t kSeeds = FilterCosts::kSubgraphSeeds;
  uint32_t seeds[kSeeds];
  float seed_dists[kSeeds];
  // A descent that ends on a match is inside the matches' region: the walk
  // starts there alone. Otherwise members spread over the set join it.
  const size_t n = matching.test(cur.slot) ? 0 : spread_members(matching, kSeeds, seeds);
  space.distances(seeds, n, seed_dists);
  std::vector<Cand>& entries = s.entries;
  entries.assign(1, cur);
  for (size_t i = 0; i < n; ++i) entries.push_back(Cand{seed_dists[i], seeds[i]});

  // The beam is half again as wide as ef: expansions that take no second
  // hop (AcceptMatchingSubgraph) hold less recall per beam entry, and the
  // wider beam gives back at least the recall per ef of taking two hops
  // everywhere, for fewer distances (so the planner's price of the walk at
  // ef, fitted on that walk, still bounds it).
  ef += ef / 2;
  const InSet pred{&matching};
  hnsw::AcceptMatchingSubgraph<InSet> beam(s, pred, ef, 1, graph_->max_links(0),
                                           graph_->max_links(0));
  hnsw::search_layer(*graph_, space, 0, entries, s, beam);
  s.found.clear();
  for (size_t i = 0; i < s.pool.size(); ++i) {
    const Cand c = s.pool.at(i);
    if (matching.test(c.slot) && s.found.size() < ef) s.found.push_back(c);
  }
  // A walk that ran out of matches before its beam filled has met every
  // match the seeds reach, and the seeds do not reach them all: the two-hop
  // subgraph is not connected (seen on parallel-built graphs at 10 %, once
  // in about 20 builds, missing the nearest match). Whatever the beam, the
  // scan answers those queries exactly; it also keeps the promise of
  // min(k, matching rows).
  if (s.found.size() < std::min(std::max(ef, k), total)) return scan_matches(query, k, &filter);
  return rerank(query, s.found, k, mode, query_radius);
}

template <class Space>
std::vector<util::Candidate> HnswIndex::search_in(const Space& space, const QueryScorer& query,
                                                  size_t k, size_t ef, const SlotPredicate* filter,
                                                  Rerank mode, float query_radius,
                                                  size_t expansion_budget) const {
  Scratch& s = hnsw::search_scratch();
  const EntryPoint ep = entry();
  Cand cur{space.distance(ep.slot), ep.slot};
  cur = hnsw::greedy_descend(*graph_, space, cur, ep.level, 0, s);

  if (filter == nullptr) {
    hnsw::search_layer(*graph_, space, 0, ef, {&cur, 1}, s);
    s.found.resize(s.pool.size());
    for (size_t i = 0; i < s.pool.size(); ++i) s.found[i] = s.pool.at(i);
    std::vector<util::Candidate> hits = rerank(query, s.found, k, mode, query_radius);
    // Too few: a walk that began at a node removed while it ran, or rows
    // not linked yet. The exact scan keeps the promise of min(k, rows).
    if (hits.size() < k && hits.size() < store_->size()) return flat_search(query, k, nullptr);
    return hits;
  }
  hnsw::AcceptMatching<SlotPredicate> beam(*filter, ef, expansion_budget, s.entries, s.found);
  hnsw::search_layer(*graph_, space, 0, {&cur, 1}, s, beam);
  if (beam.exhausted()) return scan_matches(query, k, filter);
  std::vector<util::Candidate> hits = rerank(query, beam.take_sorted(), k, mode, query_radius);
  if (hits.size() < k) return scan_matches(query, k, filter);
  return hits;
}

// The k best of `found` (sorted nearest first by walk distance), with the
// query scorer's distances. kSq8Bounded rescores the first options_.rerank
// entries, or by default every entry that can still be among the true k
// nearest given the rounding radii (Sq8Codes::rerank_candidates) and, once
// k true distances are known, whose lower bounds (from the code distance,
// then from the query's f32 distance to the row's grid point) do not exceed
// the k-th of them, so the result is the exact k best of `found`; entries
// whose code distance is exact (Sq8Codes::exact_row) are not rescored.
std::vector<util::Candidate> HnswIndex::rerank(const QueryScorer& query,
                                               std::span<const Cand> found, size_t k, Rerank mode,
                                               float query_radius) const {
  util::TopK top(k);
  if (mode == Rerank::kNone) {
    for (const Cand& c : found) {
      if (store_->is_live(c.slot)) top.push({c.dist, store_->sequence(c.slot), c.slot});
    }
    return top.take_sorted();
  }
  Scratch& s = hnsw::search_scratch();
  std::vector<uint32_t>& slots = s.selected;
  slots.resize(found.size());
  std::vector<float>& dists = s.dists;
  if (dists.size() < found.size()) dists.resize(found.size());
  size_t n = 0;
  if (mode == Rerank::kSq8Bounded && options_.rerank == 0) {
    std::vector<uint32_t>& picked = s.shrink_links;
    picked.resize(found.size());
    const size_t m = codes_->rerank_candidates(found, k, query_radius, picked.data());
    // On an exact grid (whole-number data) a row and query without rounding
    // error have their true distance already: no f32 row is read for them.
    const bool query_exact = query_radius == 0.0f && codes_->exact_grid();
    for (size_t i = 0; i < m; ++i) {
      const Cand& c = found[picked[i]];
      if (!store_->is_live(c.slot)) continue;
      if (query_exact && codes_->exact_row(c.slot)) {
        top.push({codes_->ranking(c.dist), store_->sequence(c.slot), c.slot});
      } else {
        picked[n++] = picked[i];
      }
    }
    // The rest are rescored nearest code distance first, a few rows at a
    // time: once k true distances are known, a row whose lower bound is past
    // the k-th of them cannot enter, and its f32 row is not read.
    for (size_t next = 0; next < n;) {
      // Whole chunks: the gather scores rows four at a time.
      const size_t want = top.full()
                              ? kRerankChunk
                              : (k - top.size() + kRerankChunk - 1) / kRerankChunk * kRerankChunk;
      size_t chunk = 0;
      for (; next < n && chunk < want; ++next) {
        const Cand& c = found[picked[next]];
        // The code distance's bound first (free), then the query's f32
        // distance to the row's grid point: it reads the row's codes again
        // (a quarter of its f32 bytes, and recently walked) to spare the
        // f32 row of a row that cannot enter.
        if (top.full() &&
            (codes_->ranking_lower_bound(c.dist, c.slot, query_radius) > top.threshold() ||
             codes_->query_lower_bound(query.query(), c.slot) > top.threshold())) {
          continue;
        }
        slots[chunk++] = c.slot;
      }
      query.gather(slots.data(), chunk, dists.data());
      for (size_t i = 0; i < chunk; ++i) {
        top.push({dists[i], store_->sequence(slots[i]), slots[i]});
      }
    }
    return top.take_sorted();
  }
  const size_t m =
      mode == Rerank::kAll ? found.size() : std::min(found.size(), std::max(options_.rerank, k));
  for (size_t i = 0; i < m; ++i) {
    if (store_->is_live(found[i].slot)) slots[n++] = found[i].slot;
  }
  query.gather(slots.data(), n, dists.data());
  for (size_t i = 0; i < n; ++i) top.push({dists[i], store_->sequence(slots[i]), slots[i]});
  return top.take_sorted();
}

}  // namespace iqdb::index
