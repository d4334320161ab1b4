// HnswIndex: removing and relinking nodes without letting the graph decay.
//
// unlink() takes a set R of nodes out of the graph, level by level from the
// top:
//   1. one pass over the level's lists finds every node y that links into R
//      (links are one-way, so this is the only complete way to find them),
//      and counts the in-links of R's out-neighbours from everyone else;
//   2. each such y is relinked: its candidates are its remaining neighbours
//      plus the neighbours of the nodes of R it linked to, and the selection
//      heuristic picks its new list, topped up with the nearest remaining
//      candidates to at least M links (the heuristic alone thins lists with
//      every delete: on Fashion-MNIST, half deleted and refilled lost 0.012
//      recall at ef 10 without the top-up, none with it). The repairs are
//      independent, so they run in parallel and the result does not depend
//      on thread order;
//   3. out-neighbours of R left with no in-link at all would be unreachable:
//      each is reconnected by searching for it and linking it from the
//      neighbours the heuristic picks.
// The entry point moves to the highest remaining node before any of this,
// so the reconnecting searches never start inside R.
//
// Alongside searches (remove with a Publisher) R is only detached: nodes
// of R keep their own lists, so a search standing on one still walks out,
// and they are freed (lists cleared, upper block returned, slot reusable)
// in an exclusive step once no search can be on them.
//
// update() (a replaced row: same slot, new vector) does not pay for that
// pass, which reads every list of the level: at 50k Fashion-MNIST rows it
// held replaces to about a tenth of the insert rate, and it grows with the
// graph. The node stays a valid target, so links into it stay too; relink()
// links it at its new place as an insert would, and repair_around() fixes
// up its old neighbourhood locally (see hnsw.h).

#include <algorithm>
#include <mutex>

#include "exec/parallel.h"
#include "index/hnsw.h"
#include "index/hnsw_graph.h"
#include "index/hnsw_internal.h"
#include "index/hnsw_layer.h"
#include "index/hnsw_sq8.h"

namespace iqdb::index {

using hnsw::Cand;
using hnsw::NodeInfo;
using hnsw::Scratch;

namespace {

// Values of Sync::marks during unlink(): 0 untouched, kRemoved for R, and
// kOutBase + i for the i-th out-neighbour of R on the current level.
constexpr uint32_t kRemoved = 1;
constexpr uint32_t kOutBase = 2;

}  // namespace

void HnswIndex::remove(uint32_t slot) {
  unlink({&slot, 1}, Unlink::kFree);
  maybe_repair();
}

Status HnswIndex::update(uint32_t slot) {
  if (!contains(slot)) return insert(slot);
  const bool sq8 = uses_sq8();
  encode_codes(slot);
  relink(slot, sq8);
  maybe_repair();
  return Status::OK();
}

Status HnswIndex::update(uint32_t slot, Publisher& publisher) {
  if (!contains(slot)) return insert(slot);
  const bool sq8 = uses_sq8();
  // Searches walk on the codes: they change only with searches held off.
  publisher.exclusive([&] { encode_codes(slot); });
  relink(slot, sq8);
  maybe_repair();
  return Status::OK();
}

void HnswIndex::remove_batch(std::span<const uint32_t> slots, Publisher& publisher) {
  unlink(slots, Unlink::kDetach);
  // A search that reached a node before it was detached may still read its
  // lists: free them (and let the slots be reused) only with none left.
  publisher.exclusive([&] {
    for (const uint32_t slot : slots) release_detached(slot);
  });
  maybe_repair(slots.size());
}

void HnswIndex::remove(uint32_t slot, Publisher& publisher) { remove_batch({&slot, 1}, publisher); }

Status HnswIndex::insert_batch(std::span<const uint32_t> slots, Publisher&) {
  // New nodes are linked under their seqlocks after their own lists exist:
  // nothing a search reads changes in place.
  return slots.size() == 1 ? insert(slots[0]) : insert_batch(slots);
}

void HnswIndex::release_detached(uint32_t slot) noexcept {
  if (!contains(slot)) return;
  graph_->release(slot);
  sync_->count.fetch_sub(1, std::memory_order_release);
}

void HnswIndex::relink(uint32_t slot, bool sq8) {
  const uint32_t level = graph_->info(slot).level;
  EntryPoint ep = entry();
  if (ep.slot == slot) {
    // Start from the highest other node; the entry point itself stays.
    ep = EntryPoint{kNoSlot, 0};
    const uint32_t capacity = graph_->capacity();
    for (uint32_t other = 0; other < capacity; ++other) {
      const NodeInfo& node = graph_->info(other);
      if (other == slot || !node.present) continue;
      if (ep.slot == kNoSlot || node.level > ep.level) ep = EntryPoint{other, node.level};
    }
    if (ep.slot == kNoSlot) return;  // the only node
  }
  // The lists the node had at its old place.
  std::vector<std::vector<uint32_t>> old(level + 1);
  {
    std::vector<uint32_t> links(graph_->max_links(0));
    for (uint32_t l = 0; l <= level; ++l) {
      const size_t n = graph_->links_locked(slot, l, links.data());
      old[l].assign(links.begin(), links.begin() + ptrdiff_t(n));
    }
  }
  Scratch& s = hnsw::build_scratch();
  if (sq8) {
    s.query_codes.resize(codes_->kernel_dim());
    codes_->widen(slot, s.query_codes.data());
    connect(slot, level, ep, hnsw::Sq8Space{codes_.get(), s.query_codes.data()}, s);
  } else {
    hnsw::PairFrom node(*store_, nullptr);
    node.reset(slot);
    connect(slot, level, ep, hnsw::ScorerSpace{&node.scorer()}, s);
  }
  if (level > entry().level) set_entry(slot, level);
  for (uint32_t l = 0; l <= level; ++l) repair_around(slot, l, old[l]);
}

void HnswIndex::reselect(uint32_t y, uint32_t level, std::vector<Cand>& candidates,
                         hnsw::PairFrom& distance_from, std::vector<uint32_t>& selected) {
  std::sort(candidates.begin(), candidates.end(),
            [](const Cand& p, const Cand& q) { return p.slot < q.slot; });
  candidates.erase(std::unique(candidates.begin(), candidates.end(),
                               [](const Cand& p, const Cand& q) { return p.slot == q.slot; }),
                   candidates.end());
  distance_from.reset(y);
  for (Cand& c : candidates) c.dist = distance_from(c.slot);
  std::sort(candidates.begin(), candidates.end(), [](const Cand& p, const Cand& q) {
    return p.dist < q.dist || (p.dist == q.dist && p.slot < q.slot);
  });
  select_neighbors(candidates, graph_->max_links(level), selected);
  // Keep at least M links: the heuristic alone thins a repaired list below
  // what inserts give a node, and deletes would erode the graph.
  for (size_t i = 0; i < candidates.size() && selected.size() < config_.m; ++i) {
    if (std::find(selected.begin(), selected.end(), candidates[i].slot) == selected.end()) {
      selected.push_back(candidates[i].slot);
    }
  }
  hnsw::NodeLock lock(*graph_, y);
  graph_->write_links(y, level, selected.data(), selected.size());
}

void HnswIndex::repair_around(uint32_t slot, uint32_t level, std::span<const uint32_t> old) {
  const size_t max0 = graph_->max_links(0);
  std::vector<uint32_t> own(max0), other(max0), selected;
  std::vector<Cand> candidates;
  hnsw::PairFrom distance_from(*store_, walk_codes());
  // 1. Old neighbours that link to the node re-select their lists.
  for (const uint32_t y : old) {
    const size_t n = graph_->links_locked(y, level, own.data());
    if (std::find(own.begin(), own.begin() + ptrdiff_t(n), slot) == own.begin() + ptrdiff_t(n)) {
      continue;
    }
    candidates.clear();
    for (size_t i = 0; i < n; ++i) candidates.push_back(Cand{0.0f, own[i]});
    for (const uint32_t z : old) {
      if (z != y) candidates.push_back(Cand{0.0f, z});
    }
    reselect(y, level, candidates, distance_from, selected);
  }
  // 2. An old neighbour the node no longer links to keeps a way in if a
  // node near it (one of its own neighbours, or of the node's old ones)
  // links to it; otherwise it is linked from its nearest nodes.
  const size_t now = graph_->links_locked(slot, level, own.data());
  const auto links_to = [&](uint32_t from, uint32_t to) {
    if (from == to || from == slot) return false;
    const size_t m = graph_->links_locked(from, level, other.data());
    return std::find(other.begin(), other.begin() + ptrdiff_t(m), to) !=
           other.begin() + ptrdiff_t(m);
  };
  std::vector<uint32_t> near;
  for (const uint32_t z : old) {
    if (std::find(own.begin(), own.begin() + ptrdiff_t(now), z) != own.begin() + ptrdiff_t(now)) {
      continue;
    }
    bool reached = std::any_of(old.begin(), old.end(), [&](uint32_t y) { return links_to(y, z); });
    if (!reached) {
      const size_t m = graph_->links_locked(z, level, other.data());
      near.assign(other.begin(), other.begin() + ptrdiff_t(m));
      reached = std::any_of(near.begin(), near.end(), [&](uint32_t w) { return links_to(w, z); });
    }
    if (!reached) reconnect(z, level);
  }
}

void HnswIndex::unlink(std::span<const uint32_t> slots, Unlink mode) {
  const uint32_t capacity = graph_->capacity();
  std::vector<uint32_t>& marks = sync_->marks;
  if (marks.size() < capacity) marks.resize(capacity, 0);
  std::vector<uint32_t> removed;
  uint32_t top = 0;
  for (uint32_t slot : slots) {
    if (slot >= capacity || !graph_->info(slot).present || marks[slot] == kRemoved) continue;
    marks[slot] = kRemoved;
    removed.push_back(slot);
    top = std::max<uint32_t>(top, graph_->info(slot).level);
  }
  if (removed.empty()) return;

  if (marks[entry().slot] == kRemoved) {
    EntryPoint best{kNoSlot, 0};
    for (uint32_t slot = 0; slot < capacity; ++slot) {
      const NodeInfo& node = graph_->info(slot);
      if (!node.present || marks[slot] == kRemoved) continue;
      if (best.slot == kNoSlot || node.level > best.level) best = EntryPoint{slot, node.level};
    }
    if (best.slot == kNoSlot) {
      clear_entry();
    } else {
      set_entry(best.slot, best.level);
    }
  }

  const size_t max0 = graph_->max_links(0);
  std::vector<uint32_t> links(max0), outs, indegree, affected;
  for (uint32_t level = top + 1; level-- > 0;) {
    if (entry().slot == kNoSlot) break;  // nothing remains to repair
    // Out-neighbours of R on this level.
    outs.clear();
    for (uint32_t x : removed) {
      if (graph_->info(x).level < level) continue;
      const size_t n = graph_->links_locked(x, level, links.data());
      for (size_t i = 0; i < n; ++i) {
        if (marks[links[i]] != 0) continue;
        marks[links[i]] = kOutBase + static_cast<uint32_t>(outs.size());
        outs.push_back(links[i]);
      }
    }
    indegree.assign(outs.size(), 0);
    // 1. Who links into R; in-degrees of the out-neighbours from the rest.
    affected.clear();
    for (uint32_t y = 0; y < capacity; ++y) {
      const NodeInfo& node = graph_->info(y);
      if (!node.present || node.level < level || marks[y] == kRemoved) continue;
      const size_t n = graph_->links_locked(y, level, links.data());
      bool hit = false;
      for (size_t i = 0; i < n && !hit; ++i) hit = marks[links[i]] == kRemoved;
      if (hit) {
        affected.push_back(y);
        continue;
      }
      for (size_t i = 0; i < n; ++i) {
        if (marks[links[i]] >= kOutBase) ++indegree[marks[links[i]] - kOutBase];
      }
    }
    // 2. Relink them.
    exec::parallel_for(0, affected.size(), 32, [&](size_t begin, size_t end) {
      std::vector<uint32_t> own(max0), second(max0), selected;
      std::vector<Cand> candidates;
      hnsw::PairFrom distance_from(*store_, walk_codes());
      for (size_t a = begin; a < end; ++a) {
        const uint32_t y = affected[a];
        candidates.clear();
        const size_t n = graph_->links_locked(y, level, own.data());
        for (size_t i = 0; i < n; ++i) {
          if (marks[own[i]] != kRemoved) {
            candidates.push_back(Cand{0.0f, own[i]});
            continue;
          }
          const size_t m = graph_->links_locked(own[i], level, second.data());
          for (size_t j = 0; j < m; ++j) {
            if (second[j] != y && marks[second[j]] != kRemoved) {
              candidates.push_back(Cand{0.0f, second[j]});
            }
          }
        }
        reselect(y, level, candidates, distance_from, selected);
      }
    });
    for (uint32_t y : affected) {
      const size_t n = graph_->links_locked(y, level, links.data());
      for (size_t i = 0; i < n; ++i) {
        if (marks[links[i]] >= kOutBase) ++indegree[marks[links[i]] - kOutBase];
      }
    }
    // 3. Reconnect the orphans.
    for (uint32_t z : outs) marks[z] = 0;
    for (size_t i = 0; i < outs.size(); ++i) {
      if (indegree[i] == 0) reconnect(outs[i], level);
    }
  }

  for (uint32_t x : removed) {
    marks[x] = 0;
    // kDetach: its lists stay until release_detached(), so a search that
    // reached it (or began at it as the entry point) still finds its way out.
    if (mode == Unlink::kFree) {
      graph_->release(x);
      sync_->count.fetch_sub(1, std::memory_order_release);
    }
  }
}

// Links `slot` from the neighbours the heuristic picks for it on `level`
// (it has no in-link there). Nodes marked removed are never picked.
void HnswIndex::reconnect(uint32_t slot, uint32_t level) {
  const EntryPoint ep = entry();
  if (ep.slot == kNoSlot || ep.slot == slot) return;  // the entry point needs no in-link
  Scratch& s = hnsw::build_scratch();
  auto run = [&](const auto& space) {
    Cand cur{space.distance(ep.slot), ep.slot};
    cur = hnsw::greedy_descend(*graph_, space, cur, ep.level, level, s);
    hnsw::search_layer(*graph_, space, level, config_.ef_construction, {&cur, 1}, s);
    s.found.clear();
    for (size_t i = 0; i < s.pool.size(); ++i) {
      const Cand c = s.pool.at(i);
      const bool removed = c.slot < sync_->marks.size() && sync_->marks[c.slot] == kRemoved;
      if (c.slot != slot && !removed) s.found.push_back(c);
    }
    select_neighbors(s.found, config_.m, s.selected);
    link_back(slot, level, s.found, s.selected, s);
  };
  if (uses_sq8()) {
    s.query_codes.resize(codes_->kernel_dim());
    codes_->widen(slot, s.query_codes.data());
    run(hnsw::Sq8Space{codes_.get(), s.query_codes.data()});
  } else {
    hnsw::PairFrom node(*store_, nullptr);
    node.reset(slot);
    run(hnsw::ScorerSpace{&node.scorer()});
  }
}

}  // namespace iqdb::index
