// HnswIndex: searching, with and without a filter.
//
// Unfiltered: greedy descent to level 1, a beam search of width ef on level
// 0 (on SQ8 codes when trained), then the beam is reranked with exact f32
// distances and the k best returned.
//
// Filtered: a planner first estimates the filter's selectivity on a sample
// of live slots and answers by exact scan of the matching rows when that is
// cheaper than walking (see prefer_exact_scan). Otherwise the level-0 walk
// keeps every node in its frontier, matching or not, but only matching
// nodes in its results, and continues until it holds ef matches no farther
// than the frontier (or the frontier is exhausted). A walk that finds fewer
// than k matches is replaced by the exact scan, so the result always has
// min(k, matching rows) hits.

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

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

// Slots the planner tests the predicate on.
constexpr size_t kSelectivitySample = 256;
// Relative costs, in units of one exact f32 distance in a scan, behind the
// planner's choice. Measured on Fashion-MNIST (60k x 784, M 16, ef 64): a
// filtered walk costs about 4 units per node it expands, a scan about 0.01
// per row for the liveness and predicate test plus 1 per matching row; the
// two cross near 6 % selectivity (walk 2.8 ms vs scan 2.1 ms at 5 %, 1.8 ms
// vs 4.2 ms at 10 %).
constexpr double kPredicateCost = 0.01;  // one row tested during a scan
constexpr double kWalkSq8Cost = 0.25;    // one neighbour scored in an SQ8 walk
constexpr double kWalkF32Cost = 0.6;     // one neighbour scored on f32 rows or store codes

struct FartherFirst {
  bool operator()(const Cand& a, const Cand& b) const noexcept { return a.dist < b.dist; }
};
struct NearerFirst {
  bool operator()(const Cand& a, const Cand& b) const noexcept { return a.dist > b.dist; }
};

}  // namespace

double HnswIndex::estimate_selectivity(const SlotPredicate& filter) const {
  const uint32_t end = store_->slot_end();
  size_t live = 0, matching = 0;
  const size_t step = std::max<size_t>(1, end / kSelectivitySample);
  for (size_t slot = step / 2; slot < end && live < kSelectivitySample; slot += step) {
    const auto s = static_cast<uint32_t>(slot);
    if (!store_->is_live(s)) continue;
    ++live;
    if (filter.matches(s)) ++matching;
  }
  return live ? static_cast<double>(matching) / static_cast<double>(live) : 0.0;
}

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
  if (filter != nullptr && options_.plan_filters) {
    const double selectivity = estimate_selectivity(*filter);
    const double live = static_cast<double>(store_->size());
    const double scan_cost = live * (kPredicateCost + selectivity);
    const double visits =
        selectivity > 0 ? std::min(live, static_cast<double>(ef) / selectivity) : live;
    const double walk_cost =
        visits * static_cast<double>(config_.m) * (sq8 ? kWalkSq8Cost : kWalkF32Cost);
    if (scan_cost <= walk_cost) return flat_search(query, k, filter);
    // The estimate assumes matching rows are spread evenly around the query.
    // When they are not (a query far from the rows of the class it filters
    // on), the walk expands many more nodes: past twice the scan's cost it
    // stops and the scan answers, so a filtered search never costs much
    // more than 3 scans (it had taken 20x on Fashion-MNIST).
    budget = static_cast<size_t>(
                 2.0 * scan_cost /
                 (static_cast<double>(config_.m) * (sq8 ? kWalkSq8Cost : kWalkF32Cost))) +
             1;
  }
  if (entry().slot == kNoSlot) return flat_search(query, k, filter);
  if (sq8) {
    Scratch& s = hnsw::search_scratch();
    s.query_codes.resize(codes_->kernel_dim());
    const float radius = codes_->encode_query(query.query(), s.query_codes.data());
    return search_in(hnsw::Sq8Space{codes_.get(), s.query_codes.data(), radius}, query, k, ef,
                     filter, Rerank::kSq8Bounded, radius, budget);
  }
  if (!store_->has_codes()) {
    return search_in(hnsw::ScorerSpace{&query}, query, k, ef, filter, Rerank::kNone, 0.0f, budget);
  }
  // Walk on the store's codes; rescore with the caller's scorer if it reads
  // another representation (f32 rows kept beside lossy codes).
  const QueryScorer walk(*store_, query.query(), RowSource::kCodes);
  const Rerank mode = walk.on_codes() == query.on_codes() ? Rerank::kNone : Rerank::kAll;
  return search_in(hnsw::ScorerSpace{&walk}, query, k, ef, filter, mode, 0.0f, budget);
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

  // Filtered walk: a frontier of all nodes, results of matching ones only.
  s.prepare(graph_->max_links(0));
  s.visited.begin(graph_->capacity());
  std::vector<Cand>& frontier = s.entries;  // min-heap on distance
  std::vector<Cand>& results = s.found;     // max-heap on distance, <= ef
  frontier.clear();
  results.clear();
  auto offer_result = [&](Cand c) {
    if (!filter->matches(c.slot)) return;
    results.push_back(c);
    std::push_heap(results.begin(), results.end(), FartherFirst{});
    if (results.size() > ef) {
      std::pop_heap(results.begin(), results.end(), FartherFirst{});
      results.pop_back();
    }
  };
  s.visited.test_and_set(cur.slot);
  frontier.push_back(cur);
  offer_result(cur);
  while (!frontier.empty()) {
    std::pop_heap(frontier.begin(), frontier.end(), NearerFirst{});
    const Cand c = frontier.back();
    frontier.pop_back();
    if (results.size() >= ef && c.dist > results.front().dist) break;
    if (expansion_budget-- == 0) return flat_search(query, k, filter);
    if (!frontier.empty()) graph_->prefetch_links(frontier.front().slot, 0);
    const size_t n = graph_->read_links(c.slot, 0, s.links.data());
    size_t m = 0;
    for (size_t i = 0; i < n; ++i) {
      if (!s.visited.test_and_set(s.links[i])) s.ids[m++] = s.links[i];
    }
    space.distances(s.ids.data(), m, s.dists.data());
    for (size_t i = 0; i < m; ++i) {
      const float bound =
          results.size() >= ef ? results.front().dist : std::numeric_limits<float>::infinity();
      if (!(s.dists[i] < bound)) continue;
      const Cand v{s.dists[i], s.ids[i]};
      frontier.push_back(v);
      std::push_heap(frontier.begin(), frontier.end(), NearerFirst{});
      offer_result(v);
    }
  }
  std::sort(results.begin(), results.end(),
            [](const Cand& a, const Cand& b) { return a.dist < b.dist; });
  std::vector<util::Candidate> hits = rerank(query, results, k, mode, query_radius);
  if (hits.size() < k) return flat_search(query, k, filter);
  return hits;
}

// The k best of `found` (sorted nearest first by walk distance), with the
// query scorer's distances. kSq8Bounded rescores the first options_.rerank
// entries, or by default every entry that can still be among the true k
// nearest given the rounding radii (Sq8Codes::rerank_candidates), so the
// result is the exact k best of `found`; entries whose code distance is
// exact (Sq8Codes::exact_row) are not rescored.
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
        slots[n++] = c.slot;
      }
    }
  } else {
    const size_t m =
        mode == Rerank::kAll ? found.size() : std::min(found.size(), std::max(options_.rerank, k));
    for (size_t i = 0; i < m; ++i) {
      if (store_->is_live(found[i].slot)) slots[n++] = found[i].slot;
    }
  }
  std::vector<float>& dists = s.dists;
  if (dists.size() < n) dists.resize(n);
  query.gather(slots.data(), n, dists.data());
  for (size_t i = 0; i < n; ++i) top.push({dists[i], store_->sequence(slots[i]), slots[i]});
  return top.take_sorted();
}

}  // namespace iqdb::index
