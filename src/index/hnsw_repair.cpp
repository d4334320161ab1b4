// HnswIndex: keeping every node reachable.
//
// A new node gets in-links from the neighbours it picks (link_back makes
// sure of at least one), but later inserts re-select those neighbours'
// lists and the heuristic may drop it from every one of them. Such a node
// is still in the graph but no search can reach it: on Fashion-MNIST, a
// 60k-row parallel build left about 0.2% of the nodes unreachable, so their
// images were never returned, at any ef. repair_reachability() finds them
// with one breadth-first walk over level 0 from the entry point and links
// each from its nearest reachable nodes. A full list gives up a link only
// to a node with another in-link, so no repair orphans anyone else; nodes
// reachable only through a repaired one become reachable with it.

#include <algorithm>
#include <deque>
#include <mutex>

#include "index/hnsw.h"
#include "index/hnsw_graph.h"
#include "index/hnsw_internal.h"
#include "index/hnsw_layer.h"
#include "index/hnsw_sq8.h"

namespace iqdb::index {

std::vector<uint32_t> HnswIndex::unreached_nodes() const {
  std::vector<uint32_t> out;
  const EntryPoint ep = entry();
  const uint32_t capacity = graph_->capacity();
  if (ep.slot == kNoSlot) return out;
  std::vector<uint8_t> seen(capacity, 0);
  std::vector<uint32_t> links(graph_->max_links(0));
  std::deque<uint32_t> frontier{ep.slot};
  seen[ep.slot] = 1;
  while (!frontier.empty()) {
    const uint32_t at = frontier.front();
    frontier.pop_front();
    const size_t n = graph_->read_links(at, 0, links.data());
    for (size_t i = 0; i < n; ++i) {
      const uint32_t to = links[i];
      if (to < capacity && !seen[to]) {
        seen[to] = 1;
        frontier.push_back(to);
      }
    }
  }
  for (uint32_t slot = 0; slot < capacity; ++slot) {
    if (!seen[slot] && graph_->info(slot).present) out.push_back(slot);
  }
  return out;
}

size_t HnswIndex::unreachable() const { return unreached_nodes().size(); }

size_t HnswIndex::repair_reachability() {
  std::lock_guard<std::mutex> one_at_a_time(sync_->repair);
  sync_->inserts_since_repair.store(0, std::memory_order_relaxed);
  size_t relinked = 0;
  std::vector<uint32_t> indegree;
  // Nodes with a single in-link are reachable, but often only from a node
  // that searches for them never visit (outliers keep one link from far
  // away once their nearest neighbours re-select their lists): 74 of 60k
  // Fashion-MNIST rows were not returned when searching for themselves at
  // ef 64, 7 not even at ef 500. They get links from their nearest nodes too.
  level0_indegree(indegree);
  const EntryPoint ep = entry();
  for (uint32_t slot = 0; slot < indegree.size(); ++slot) {
    if (indegree[slot] == 1 && slot != ep.slot && graph_->info(slot).present) {
      relink_unreached(slot, indegree);
      ++relinked;
    }
  }
  for (int round = 0; round < 4; ++round) {
    const std::vector<uint32_t> lost = unreached_nodes();
    if (lost.empty()) break;
    level0_indegree(indegree);
    for (uint32_t slot : lost) relink_unreached(slot, indegree);
    relinked += lost.size();
  }
  return relinked;
}

void HnswIndex::level0_indegree(std::vector<uint32_t>& indegree) const {
  const uint32_t capacity = graph_->capacity();
  indegree.assign(capacity, 0);
  std::vector<uint32_t> links(graph_->max_links(0));
  for (uint32_t slot = 0; slot < capacity; ++slot) {
    if (!graph_->info(slot).present) continue;
    const size_t n = graph_->read_links(slot, 0, links.data());
    for (size_t i = 0; i < n; ++i) {
      if (links[i] < capacity) ++indegree[links[i]];
    }
  }
}

// Gives `slot` in-links on level 0 from its nearest reachable nodes (found
// by a search from the entry point, which only walks reachable nodes). A
// full list gives up its farthest link to a node that has another in-link,
// so the repair never orphans anyone else.
void HnswIndex::relink_unreached(uint32_t slot, std::vector<uint32_t>& indegree) {
  constexpr size_t kInLinks = 2;
  const EntryPoint ep = entry();
  if (ep.slot == kNoSlot || ep.slot == slot) return;
  hnsw::Scratch& s = hnsw::build_scratch();
  auto search = [&](const auto& space) {
    hnsw::Cand cur{space.distance(ep.slot), ep.slot};
    cur = hnsw::greedy_descend(*graph_, space, cur, ep.level, 0, s);
    hnsw::search_layer(*graph_, space, 0, config_.ef_construction, {&cur, 1}, s);
    s.found.clear();
    for (size_t i = 0; i < s.pool.size(); ++i) {
      const hnsw::Cand c = s.pool.at(i);
      const bool removed = c.slot < sync_->marks.size() && sync_->marks[c.slot] != 0;
      if (c.slot != slot && !removed) s.found.push_back(c);
    }
  };
  if (uses_sq8()) {
    s.query_codes.resize(codes_->kernel_dim());
    codes_->widen(slot, s.query_codes.data());
    search(hnsw::Sq8Space{codes_.get(), s.query_codes.data()});
  } else {
    hnsw::PairFrom node(*store_, nullptr);
    node.reset(slot);
    search(hnsw::ScorerSpace{&node.scorer()});
  }
  std::sort(s.found.begin(), s.found.end(), [](const hnsw::Cand& a, const hnsw::Cand& b) {
    return a.dist < b.dist || (a.dist == b.dist && a.slot < b.slot);
  });

  const size_t cap = graph_->max_links(0);
  std::vector<uint32_t> links(cap);
  hnsw::PairFrom distance_from(*store_, walk_codes());
  size_t linked = 0;
  for (const hnsw::Cand& from : s.found) {
    if (linked == kInLinks) break;
    {
      hnsw::NodeLock lock(*graph_, from.slot);
      size_t n = graph_->links_locked(from.slot, 0, links.data());
      if (std::find(links.begin(), links.begin() + n, slot) != links.begin() + n) {
        ++linked;
        continue;
      }
      size_t replace = n;  // n < cap: append
      if (n == cap) {
        distance_from.reset(from.slot);
        float worst = -1.0f;
        for (size_t i = 0; i < n; ++i) {
          if (links[i] >= indegree.size() || indegree[links[i]] < 2) continue;
          const float d = distance_from(links[i]);
          if (replace == n || d > worst) replace = i, worst = d;
        }
        if (replace == n) continue;  // every link is someone's only way in
        --indegree[links[replace]];
      } else {
        ++n;
      }
      links[replace] = slot;
      graph_->write_links(from.slot, 0, links.data(), n);
    }
    if (slot < indegree.size()) ++indegree[slot];
    ++linked;
  }
}

void HnswIndex::maybe_repair(size_t writes) {
  const size_t done =
      sync_->inserts_since_repair.fetch_add(writes, std::memory_order_relaxed) + writes;
  // A walk costs O(nodes * M), about 2 ms at 60k nodes: a few microseconds
  // per write at this interval, against ~100 us for an insert itself.
  if (done < std::max<size_t>(256, size() / 64)) return;
  // Exclusive: the walk reads node records that inserts write.
  std::unique_lock<std::shared_mutex> writers(sync_->writers);
  repair_reachability();
}

}  // namespace iqdb::index
