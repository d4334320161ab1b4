#include "index/filter_planner.h"

#include <algorithm>
#include <limits>

namespace iqdb::index {

FilterCount count_matches(const VectorStore& store, const SlotPredicate& filter) {
  FilterCount count;
  count.live = static_cast<double>(store.size());
  if (const util::Bitmap* set = filter.matching_slots()) {
    count.matches = static_cast<double>(set->count());
    count.exact = true;
    return count;
  }
  const uint32_t end = store.slot_end();
  size_t sampled = 0, matched = 0;
  const size_t step = std::max<size_t>(1, end / FilterCosts::kSampleRows);
  for (size_t s = step / 2; s < end && sampled < FilterCosts::kSampleRows; s += step) {
    const auto slot = static_cast<uint32_t>(s);
    if (!store.is_live(slot)) continue;
    ++sampled;
    if (filter.matches(slot)) ++matched;
  }
  if (sampled != 0) {
    count.matches = static_cast<double>(matched) / static_cast<double>(sampled) * count.live;
  }
  return count;
}

double scan_cost_units(const FilterCount& count) {
  // With the exact set, the scan reads a bitmap word per 64 rows instead of
  // testing every row.
  const double tested = count.exact ? count.live / 64.0 : count.live;
  return tested * FilterCosts::kPredicateCost + count.matches;
}

WalkPlan plan_graph_walk(const FilterCount& count, size_t ef, size_t m, bool sq8, size_t dim) {
  const double selectivity = count.selectivity();
  const double scan_cost = scan_cost_units(count);
  const double visits =
      selectivity > 0 ? std::min(count.live, static_cast<double>(ef) / selectivity) : count.live;
  const double expansion_cost =
      static_cast<double>(m) * (sq8 ? FilterCosts::kWalkSq8Cost : FilterCosts::kWalkF32Cost);
  const double walk_cost = visits * expansion_cost;
  const double links = 2.0 * static_cast<double>(m);
  const bool subgraph_ok = count.exact && selectivity * links >= 1.0;
  const double link_cost =
      FilterCosts::kLinkListCost * (784.0 + 200.0) / (static_cast<double>(dim) + 200.0);
  const double subgraph_cost =
      subgraph_ok ? static_cast<double>(FilterCosts::kSubgraphSeeds) * expansion_cost /
                            static_cast<double>(m) +
                        FilterCosts::kSubgraphExpansionsPerEf * static_cast<double>(ef) *
                            (expansion_cost + links * (1.0 - selectivity) * link_cost)
                  : std::numeric_limits<double>::infinity();
  WalkPlan plan;
  // With the exact set, the walk through every node is never planned: its
  // estimate holds only for matches spread evenly around the query, and
  // one that overruns it pays for the scan as well. The subgraph walk has no
  // such case.
  if (subgraph_ok) {
    plan.scan = scan_cost <= subgraph_cost;
    plan.subgraph = !plan.scan;
    plan.expansion_budget = std::numeric_limits<size_t>::max();
    return plan;
  }
  if (scan_cost <= walk_cost) {
    plan.scan = true;
    return plan;
  }
  const double budget = FilterCosts::kWalkBudgetFactor * scan_cost / expansion_cost + 1.0;
  plan.expansion_budget = budget >= static_cast<double>(std::numeric_limits<size_t>::max())
                              ? std::numeric_limits<size_t>::max()
                              : static_cast<size_t>(budget);
  return plan;
}

bool plan_ivf_scan(const FilterCount& count, size_t wanted) {
  return count.matches <= FilterCosts::kIvfScanFactor * static_cast<double>(wanted);
}

}  // namespace iqdb::index
