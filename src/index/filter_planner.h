// The filter planner: how many rows a filter matches, and whether an index
// answers a filtered search by walking or probing its structure or by an
// exact scan of the matching rows. HNSW and IVF both plan through here.
//
// Counting. A predicate that knows its exact set of matching slots
// (SlotPredicate::matching_slots, e.g. a filter evaluated on the payload
// index) is counted exactly. Otherwise
// the predicate is tested on up to kSampleRows live slots spread evenly over
// the slot range, and the matching fraction is scaled to the live rows.
//
// Cost model, in units of one exact distance computed by a scan:
//
//   exact scan of the matches   live * kPredicateCost + matches
//     (every live row is tested; only matching rows are scored). With the
//     exact set (SlotPredicate::matching_slots) only its members are
//     visited: live / 64 * kPredicateCost + matches. HNSW's scan on its
//     8-bit codes (hnsw_scan.cpp) is priced the same: it executes about as
//     many instructions a row as the f32 scan, the units the walks' costs
//     were fitted in; what it saves is memory traffic
//   filtered graph walk         visits * m * walk_cost
//     visits = min(live, ef / selectivity): to hold ef matches the walk
//     expands about ef / selectivity nodes when matches are spread evenly
//     around the query, and each expansion scores up to m neighbours, at
//     kWalkSq8Cost on 8-bit codes or kWalkF32Cost on f32 rows or store codes
//   walk of the matching subgraph   seeds + 1.5 * ef * (m * walk_cost +
//     2m * (1 - selectivity) * link_cost)
//     (only with the exact set, and only when a node's two-hop
//     neighbourhood holds about as many matches as it has links:
//     selectivity >= 1 / 2m): it expands about as many nodes as an
//     unfiltered walk of the same ef, each scoring up to 2m matching
//     nodes found among its links and their links, and reading the lists
//     of its non-matching neighbours. A list read costs about the same
//     whatever the dimension while a distance grows with it, so
//     link_cost = kLinkListCost * (784 + 200) / (dim + 200): kLinkListCost
//     at 784 dimensions, about 1.3 units at 256 (fitted on instruction
//     counts of 20k and 60k rows of 32 and 256 dimensions, where it errs
//     towards the scan at 32)
//   IVF probe                   scan when matches <= kIvfScanFactor * the
//     candidates the probe keeps (k, or refine * k with PQ): the probe then
//     widens through most lists to find them anyway
//
// The constants were fitted on Fashion-MNIST (60k x 784, HNSW M 16, ef 64):
// a walk costs about 4 units per node it expands, a scan about 0.01 per row
// tested plus 1 per matching row, and the two cross near 6 % selectivity.
//
// The planner takes the cheaper of the scan and the subgraph walk when the
// latter applies, else of the scan and the filtered walk. Each cost is
// constant (scan) or linear in ef (walks), so the chosen cost is continuous
// and non-decreasing in ef and never above the scan's: no ef makes a search
// slower than the scan of the matches, and a larger ef never makes it
// cheaper.
//
// Matches that are not spread evenly (a filter whose rows lie far from the
// query) make the filtered walk expand many more nodes than the estimate:
// it is given a budget of twice the scan's cost, and past it the scan
// answers. The subgraph walk has no such failure: it starts from matching
// seeds as well as the graph's entry point and only ever expands matches.
//
// Thread-safety: free functions over const inputs.
#pragma once

#include <cstddef>
#include <cstdint>

#include "index/slot_predicate.h"
#include "index/vector_store.h"

namespace iqdb::index {

// How many live rows a filter matches.
struct FilterCount {
  double live = 0;     // live rows
  double matches = 0;  // rows matching: exact, or estimated from a sample
  bool exact = false;  // `matches` is a count, not an estimate
  double selectivity() const noexcept { return live > 0 ? matches / live : 0.0; }
};

struct FilterCosts {
  static constexpr size_t kSampleRows = 256;  // slots a sampled estimate tests
  static constexpr double kPredicateCost = 0.01;
  static constexpr double kWalkSq8Cost = 0.25;
  static constexpr double kWalkF32Cost = 0.6;
  static constexpr double kWalkBudgetFactor = 2.0;  // walk budget, in scans
  static constexpr double kIvfScanFactor = 4.0;
  // Subgraph walk: nodes expanded per unit of ef, the cost of reading one
  // link list and testing its members, and the matching seeds it scores.
  static constexpr double kSubgraphExpansionsPerEf = 1.5;
  static constexpr double kLinkListCost = 0.6;
  static constexpr size_t kSubgraphSeeds = 16;
};

FilterCount count_matches(const VectorStore& store, const SlotPredicate& filter);

// The exact scan's cost, in the units above.
double scan_cost_units(const FilterCount& count);

// How HNSW answers a filtered search.
struct WalkPlan {
  bool scan = false;  // exact scan of the matching rows
  // Else, when true: walk the subgraph of matching slots (never gives up).
  bool subgraph = false;
  // Else: nodes the filtered walk may expand before it gives up and the
  // scan answers.
  size_t expansion_budget = 0;
};
// `m`: the graph's M; `sq8`: the walk runs on 8-bit codes; `dim`: the
// rows' dimension.
WalkPlan plan_graph_walk(const FilterCount& count, size_t ef, size_t m, bool sq8, size_t dim);

// Whether IVF answers by exact scan rather than probing; `wanted` is the
// candidates the probe keeps.
bool plan_ivf_scan(const FilterCount& count, size_t wanted);

}  // namespace iqdb::index
