// HnswIndex: inserting nodes (Malkov & Yashunin, algorithms 1 and 4).
//
// A new node gets a level from its insertion sequence, descends greedily
// from the entry point to its own top level, then on each level from there
// down to 0 runs a beam search of width ef_construction, keeps M neighbours
// chosen by the selection heuristic and links back from each of them (a
// full neighbour list is re-selected with the same heuristic).
//
// Locking: each list write holds that node's seqlock; a node is linked
// from elsewhere only after its own lists are written, on every level (so
// a search that reaches it anywhere can walk on from it on level 0). An
// insert that raises the top level holds the entry mutex throughout, as
// hnswlib does, so the entry point only ever moves to a finished node.

#include <algorithm>
#include <limits>
#include <mutex>
#include <shared_mutex>
#include <vector>

#include "exec/parallel.h"
#include "index/hnsw.h"
#include "index/hnsw_graph.h"
#include "index/hnsw_internal.h"
#include "index/hnsw_layer.h"
#include "index/hnsw_sq8.h"
#include "kernels/distance.h"

namespace iqdb::index {

using hnsw::Cand;
using hnsw::NodeInfo;
using hnsw::Scratch;

namespace {

bool nearer(const Cand& a, const Cand& b) noexcept {
  return a.dist < b.dist || (a.dist == b.dist && a.slot < b.slot);
}

}  // namespace

// The heuristic of Malkov & Yashunin (algorithm 4, without extending or
// keeping pruned candidates): walking the candidates nearest first, keep
// one unless it is nearer to an already kept neighbour than to the base.
// This spreads the links over directions instead of bunching them in the
// nearest cluster. `candidates` must be sorted nearest first.
void HnswIndex::select_neighbors(std::span<const Cand> candidates, size_t max_count,
                                 std::vector<uint32_t>& out) const {
  out.clear();
  if (candidates.size() < max_count) {  // nothing to choose between (as hnswlib)
    for (const Cand& c : candidates) out.push_back(c.slot);
    return;
  }
  hnsw::PairFrom from(*store_, walk_codes());
  for (const Cand& c : candidates) {
    if (out.size() >= max_count) break;
    bool keep = true;
    if (!out.empty()) from.reset(c.slot);
    for (uint32_t kept : out) {
      if (from(kept) < c.dist) {
        keep = false;
        break;
      }
    }
    if (keep) out.push_back(c.slot);
  }
}

// Adds `to` to the list of `from` at `level`, re-selecting a full list.
// Returns whether `to` is in the list afterwards.
bool HnswIndex::add_link(uint32_t from, uint32_t to, uint32_t level, float dist, Scratch& s) {
  const size_t cap = graph_->max_links(level);
  // Allocate before taking the node's lock: readers spin while it is held.
  s.shrink_links.resize(cap + 1);
  s.shrink.reserve(cap + 1);
  s.shrink_selected.reserve(cap);
  hnsw::NodeLock lock(*graph_, from);
  size_t n = graph_->links_locked(from, level, s.shrink_links.data());
  if (std::find(s.shrink_links.begin(), s.shrink_links.begin() + n, to) !=
      s.shrink_links.begin() + n) {
    return true;
  }
  if (n < cap) {
    s.shrink_links[n++] = to;
    graph_->write_links(from, level, s.shrink_links.data(), n);
    return true;
  }
  s.shrink.clear();
  hnsw::PairFrom distance_from(*store_, walk_codes());
  distance_from.reset(from);
  for (size_t i = 0; i < n; ++i) {
    s.shrink.push_back(Cand{distance_from(s.shrink_links[i]), s.shrink_links[i]});
  }
  s.shrink.push_back(Cand{dist, to});
  std::sort(s.shrink.begin(), s.shrink.end(), nearer);
  select_neighbors(s.shrink, cap, s.shrink_selected);
  graph_->write_links(from, level, s.shrink_selected.data(), s.shrink_selected.size());
  return std::find(s.shrink_selected.begin(), s.shrink_selected.end(), to) !=
         s.shrink_selected.end();
}

// Puts `to` in the list of `from` even if the heuristic would not: a full
// list drops its farthest link instead.
void HnswIndex::force_link(uint32_t from, uint32_t to, uint32_t level, Scratch& s) {
  const size_t cap = graph_->max_links(level);
  s.shrink_links.resize(cap + 1);
  hnsw::NodeLock lock(*graph_, from);
  size_t n = graph_->links_locked(from, level, s.shrink_links.data());
  if (std::find(s.shrink_links.begin(), s.shrink_links.begin() + n, to) ==
      s.shrink_links.begin() + n) {
    if (n < cap) {
      s.shrink_links[n++] = to;
    } else {
      size_t worst = 0;
      float worst_dist = -std::numeric_limits<float>::infinity();
      hnsw::PairFrom distance_from(*store_, walk_codes());
      distance_from.reset(from);
      for (size_t i = 0; i < n; ++i) {
        const float d = distance_from(s.shrink_links[i]);
        if (d > worst_dist) worst = i, worst_dist = d;
      }
      s.shrink_links[worst] = to;
    }
    graph_->write_links(from, level, s.shrink_links.data(), n);
  }
}

// Links `slot` from each selected neighbour. When the heuristic of every
// one of them rejects it (an outlier: each has a nearer neighbour in that
// direction), the nearest is made to keep it, so no node is left without an
// in-link on a level it was placed on.
void HnswIndex::link_back(uint32_t slot, uint32_t level, std::span<const Cand> found,
                          std::span<const uint32_t> selected, Scratch& s) {
  bool linked = false;
  for (uint32_t e : selected) {
    const auto it =
        std::find_if(found.begin(), found.end(), [e](const Cand& c) { return c.slot == e; });
    linked |= add_link(e, slot, level, it->dist, s);
  }
  if (!linked && !selected.empty()) force_link(selected.front(), slot, level, s);
}

template <class Space>
void HnswIndex::connect(uint32_t slot, uint32_t level, EntryPoint ep, const Space& space,
                        Scratch& s) {
  Cand cur{space.distance(ep.slot), ep.slot};
  if (ep.level > level) cur = hnsw::greedy_descend(*graph_, space, cur, ep.level, level, s);
  s.entries.assign(1, cur);
  // The links back on the upper levels wait until the node's own level-0
  // list is written: a search that descends to it on an upper level walks
  // level 0 from it, and an empty list there would end that walk at once.
  struct Upper {
    uint32_t level;
    std::vector<Cand> found;
    std::vector<uint32_t> selected;
  };
  std::vector<Upper> upper;
  for (uint32_t l = std::min(level, ep.level) + 1; l-- > 0;) {
    hnsw::search_layer(*graph_, space, l, config_.ef_construction, s.entries, s);
    s.found.clear();
    for (size_t i = 0; i < s.pool.size(); ++i) {
      const Cand c = s.pool.at(i);
      if (c.slot != slot) s.found.push_back(c);
    }
    select_neighbors(s.found, config_.m, s.selected);
    {
      hnsw::NodeLock lock(*graph_, slot);
      graph_->write_links(slot, l, s.selected.data(), s.selected.size());
    }
    if (l == 0) {
      link_back(slot, 0, s.found, s.selected, s);
    } else {
      upper.push_back({l, s.found, s.selected});
    }
    s.entries.swap(s.found);
  }
  for (const Upper& u : upper) link_back(slot, u.level, u.found, u.selected, s);
}

template void HnswIndex::connect<hnsw::Sq8Space>(uint32_t, uint32_t, EntryPoint,
                                                 const hnsw::Sq8Space&, Scratch&);
template void HnswIndex::connect<hnsw::ScorerSpace>(uint32_t, uint32_t, EntryPoint,
                                                    const hnsw::ScorerSpace&, Scratch&);

Status HnswIndex::insert(uint32_t slot) {
  if (wants_training(1)) {
    std::unique_lock<std::shared_mutex> writers(sync_->writers);
    if (wants_training(1)) IQDB_RETURN_IF_ERROR(train_codes({&slot, 1}));
  }
  {
    std::shared_lock<std::shared_mutex> writers(sync_->writers);
    IQDB_RETURN_IF_ERROR(insert_shared(slot));
  }
  maybe_repair();
  return Status::OK();
}

Status HnswIndex::insert_batch(std::span<const uint32_t> slots) {
  if (slots.empty()) return Status::OK();
  if (wants_training(slots.size())) {
    std::unique_lock<std::shared_mutex> writers(sync_->writers);
    if (wants_training(slots.size())) IQDB_RETURN_IF_ERROR(train_codes(slots));
  }
  IQDB_RETURN_IF_ERROR(ensure_capacity(*std::max_element(slots.begin(), slots.end()) + 1));
  std::mutex error_mutex;
  Status first_error;
  exec::parallel_for(0, slots.size(), 16, [&](size_t begin, size_t end) {
    std::shared_lock<std::shared_mutex> writers(sync_->writers);
    for (size_t i = begin; i < end; ++i) {
      Status status = insert_shared(slots[i]);
      if (!status.ok()) {
        std::lock_guard<std::mutex> guard(error_mutex);
        if (first_error.ok()) first_error = std::move(status);
      }
    }
  });
  if (first_error.ok()) maybe_repair(slots.size());
  return first_error;
}

// Requires the writers lock held shared.
Status HnswIndex::insert_shared(uint32_t slot) {
  if (slot >= hnsw::kMaxSlots) return Status::ResourceExhausted("HNSW slots are limited to 2^31-1");
  if (slot >= store_->slot_end()) return Status::InvalidArgument("slot is not in the store");
  IQDB_RETURN_IF_ERROR(ensure_capacity(slot + 1));
  NodeInfo& node = graph_->info(slot);
  if (node.present) return Status::InvalidArgument("slot is already in the HNSW graph");
  const uint32_t level = random_level(slot);
  node.level = static_cast<uint8_t>(level);
  if (Status status = graph_->allocate_upper(slot); !status.ok()) {
    node.level = 0;
    return status;
  }
  const bool sq8 = sync_->sq8_ready.load(std::memory_order_acquire);
  encode_codes(slot);
  graph_->mark_present(slot);

  std::unique_lock<std::mutex> top(sync_->entry_mutex, std::defer_lock);
  EntryPoint ep = entry();
  if (ep.slot == kNoSlot || level > ep.level) {
    top.lock();
    ep = entry();
  }
  if (ep.slot == kNoSlot) {
    set_entry(slot, level);
    sync_->count.fetch_add(1, std::memory_order_release);
    return Status::OK();
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
  if (level > ep.level) set_entry(slot, level);
  sync_->count.fetch_add(1, std::memory_order_release);
  return Status::OK();
}

}  // namespace iqdb::index
