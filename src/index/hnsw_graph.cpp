#include "index/hnsw_graph.h"

#include <algorithm>
#include <cstring>
#include <thread>
#include <utility>

#include "util/cpu_relax.h"
#include "util/lock_trace.h"

namespace iqdb::index::hnsw {
namespace {

constexpr uint32_t kCountMask = 0xFFFFu;
constexpr uint32_t kLockBit = 1u << 16;

std::atomic_ref<uint32_t> word(uint32_t* p) noexcept { return std::atomic_ref<uint32_t>(*p); }

using util::cpu_relax;

}  // namespace

HnswGraph::HnswGraph(size_t m) : m_(m) {}

Status HnswGraph::reserve(uint32_t slots) {
  if (slots <= capacity()) return Status::OK();
  std::lock_guard<std::mutex> guard(grow_mutex_);
  const uint32_t old = capacity_.load(std::memory_order_relaxed);
  if (slots <= old) return Status::OK();
  if (slots > kMaxSlots) return Status::ResourceExhausted("HNSW graph is limited to 2^31-1 slots");
  // Grow geometrically: one lock and a few mprotect calls per doubling.
  const uint64_t want =
      std::min<uint64_t>(kMaxSlots, std::max<uint64_t>(slots, old + old / 2 + 16));
  IQDB_RETURN_IF_ERROR(level0_.grow(want * level0_stride_words() * sizeof(uint32_t)));
  IQDB_RETURN_IF_ERROR(nodes_.grow(want * sizeof(NodeInfo)));
  if (level0_base_ == nullptr) level0_base_ = reinterpret_cast<uint32_t*>(level0_.data());
  if (nodes_base_ == nullptr) nodes_base_ = nodes_.data();
  // Fresh arena memory is zero: new records are absent with no links. Past
  // an adopted snapshot's records the mapped page may hold other bytes of
  // the file, so that stretch is cleared explicitly.
  const size_t stride_bytes = level0_stride_words() * sizeof(uint32_t);
  auto clear = [](uint8_t* base, size_t from, size_t to, size_t dirty_end) {
    if (from < dirty_end) std::memset(base + from, 0, std::min(to, dirty_end) - from);
  };
  clear(reinterpret_cast<uint8_t*>(level0_base_), old * stride_bytes, want * stride_bytes,
        adopted_level0_bytes_);
  clear(nodes_base_, old * sizeof(NodeInfo), want * sizeof(NodeInfo), adopted_node_bytes_);
  capacity_.store(static_cast<uint32_t>(want), std::memory_order_release);
  return Status::OK();
}

void HnswGraph::lock(uint32_t slot) noexcept {
  std::atomic_ref<uint32_t> h = word(head(slot));
  uint32_t w = h.load(std::memory_order_relaxed);
  for (unsigned spins = 0;; ++spins) {
    if ((w & kLockBit) == 0 && h.compare_exchange_weak(w, w + kLockBit, std::memory_order_acquire,
                                                       std::memory_order_relaxed)) {
      return;
    }
    if (spins < 64) {
      cpu_relax();
    } else {
      std::this_thread::yield();
    }
    w = h.load(std::memory_order_relaxed);
  }
}

void HnswGraph::unlock(uint32_t slot) noexcept {
  std::atomic_ref<uint32_t> h = word(head(slot));
  // Lock bit set + kLockBit: the version advances and the bit clears.
  h.store(h.load(std::memory_order_relaxed) + kLockBit, std::memory_order_release);
}

size_t HnswGraph::links_locked(uint32_t slot, uint32_t level, uint32_t* out) const noexcept {
  uint32_t* list = level == 0 ? head(slot) : upper_list(slot, level);
  size_t n = word(list).load(std::memory_order_relaxed) & kCountMask;
  n = std::min(n, max_links(level));
  for (size_t i = 0; i < n; ++i) out[i] = word(list + 1 + i).load(std::memory_order_relaxed);
  return n;
}

void HnswGraph::write_links(uint32_t slot, uint32_t level, const uint32_t* links,
                            size_t n) noexcept {
  uint32_t* list = level == 0 ? head(slot) : upper_list(slot, level);
  for (size_t i = 0; i < n; ++i) word(list + 1 + i).store(links[i], std::memory_order_release);
  std::atomic_ref<uint32_t> count = word(list);
  const uint32_t keep = level == 0 ? count.load(std::memory_order_relaxed) & ~kCountMask : 0;
  count.store(keep | static_cast<uint32_t>(n), std::memory_order_release);
}

size_t HnswGraph::read_links(uint32_t slot, uint32_t level, uint32_t* out) const noexcept {
  std::atomic_ref<uint32_t> h = word(head(slot));
  uint32_t* list = level == 0 ? head(slot) : upper_list(slot, level);
  const size_t cap = max_links(level);
  // Every word is loaded with acquire: a count seen is preceded by the
  // links stored before it, and the second head load stays after the copy.
  auto copy = [&](uint32_t head_word) {
    size_t n = level == 0 ? head_word & kCountMask
                          : word(list).load(std::memory_order_acquire) & kCountMask;
    n = std::min(n, cap);
    // Four per step: the loop's count and test cost as much as a copied link.
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
      out[i] = word(list + 1 + i).load(std::memory_order_acquire);
      out[i + 1] = word(list + 2 + i).load(std::memory_order_acquire);
      out[i + 2] = word(list + 3 + i).load(std::memory_order_acquire);
      out[i + 3] = word(list + 4 + i).load(std::memory_order_acquire);
    }
    for (; i < n; ++i) out[i] = word(list + 1 + i).load(std::memory_order_acquire);
    return n;
  };
  uint64_t waited_from = 0;
  for (unsigned spins = 0;; ++spins) {
    const uint32_t before = h.load(std::memory_order_acquire);
    if (spins >= kReadSpins) {
      // A writer holds the node (or keeps rewriting it), perhaps preempted
      // while it does: never wait on it. Each link copied is one the list
      // held at some moment of that write, so the copy is a list of nodes
      // the graph links, only not one a single instant saw.
      const size_t n = copy(before);
      if constexpr (util::lock_trace::kEnabled) {
        util::lock_trace::node_wait(util::lock_trace::now_ns() - waited_from, true);
      }
      return n;
    }
    if ((before & kLockBit) == 0) {
      const size_t n = copy(before);
      if (h.load(std::memory_order_acquire) == before) {
        if constexpr (util::lock_trace::kEnabled) {
          if (spins != 0)
            util::lock_trace::node_wait(util::lock_trace::now_ns() - waited_from, false);
        }
        return n;
      }
    }
    if constexpr (util::lock_trace::kEnabled) {
      if (spins == 0) waited_from = util::lock_trace::now_ns();
    }
    cpu_relax();
  }
}

void HnswGraph::prefetch_links(uint32_t slot, uint32_t level) const noexcept {
  const uint32_t* list = level == 0 ? head(slot) : upper_list(slot, level);
  const char* p = reinterpret_cast<const char*>(list);
  const size_t bytes = (1 + max_links(level)) * sizeof(uint32_t);
  for (size_t offset = 0; offset < bytes; offset += 64) __builtin_prefetch(p + offset, 0, 3);
  __builtin_prefetch(p + bytes - 1, 0, 3);
}

Status HnswGraph::allocate_upper(uint32_t slot) {
  NodeInfo& node = info(slot);
  const uint32_t level = node.level;
  if (level == 0) return Status::OK();
  const size_t words = size_t{level} * upper_block_words();
  uint32_t offset;
  {
    std::lock_guard<std::mutex> guard(upper_mutex_);
    if (free_upper_.size() > level && !free_upper_[level].empty()) {
      offset = free_upper_[level].back();
      free_upper_[level].pop_back();
    } else {
      if (upper_used_ + words > UINT32_MAX) {
        return Status::ResourceExhausted("HNSW upper levels are full");
      }
      IQDB_RETURN_IF_ERROR(upper_.grow((upper_used_ + words) * sizeof(uint32_t)));
      if (upper_base_ == nullptr) upper_base_ = reinterpret_cast<uint32_t*>(upper_.data());
      offset = static_cast<uint32_t>(upper_used_);
      upper_used_ += words;
    }
  }
  node.upper_offset = offset;
  for (size_t i = 0; i < words; ++i) {
    word(upper_base_ + offset + i).store(0, std::memory_order_relaxed);
  }
  return Status::OK();
}

void HnswGraph::release(uint32_t slot) noexcept {
  NodeInfo& node = info(slot);
  uint32_t* h = head(slot);
  for (size_t i = 1; i < level0_stride_words(); ++i)
    word(h + i).store(0, std::memory_order_relaxed);
  std::atomic_ref<uint32_t> hw = word(h);
  hw.store(hw.load(std::memory_order_relaxed) & ~kCountMask, std::memory_order_release);
  if (node.level > 0) {
    std::lock_guard<std::mutex> guard(upper_mutex_);
    for (size_t i = 0; i < size_t{node.level} * upper_block_words(); ++i) {
      word(upper_base_ + node.upper_offset + i).store(0, std::memory_order_relaxed);
    }
    if (free_upper_.size() <= node.level) free_upper_.resize(node.level + 1);
    free_upper_[node.level].push_back(node.upper_offset);
  }
  node = NodeInfo{};
}

std::span<const uint8_t> HnswGraph::level0_bytes() const noexcept {
  return {reinterpret_cast<const uint8_t*>(level0_base_),
          size_t{capacity()} * level0_stride_words() * sizeof(uint32_t)};
}

std::span<const uint8_t> HnswGraph::node_bytes() const noexcept {
  return {nodes_base_, size_t{capacity()} * sizeof(NodeInfo)};
}

std::span<const uint8_t> HnswGraph::upper_bytes() const noexcept {
  return {reinterpret_cast<const uint8_t*>(upper_base_), upper_used_ * sizeof(uint32_t)};
}

void HnswGraph::adopt(util::Arena level0, util::Arena nodes, util::Arena upper, uint32_t slots,
                      size_t upper_words) {
  level0_ = std::move(level0);
  nodes_ = std::move(nodes);
  upper_ = std::move(upper);
  level0_base_ = reinterpret_cast<uint32_t*>(level0_.data());
  nodes_base_ = nodes_.data();
  upper_base_ = reinterpret_cast<uint32_t*>(upper_.data());
  upper_used_ = upper_words;
  free_upper_.clear();
  adopted_level0_bytes_ = level0_.committed_bytes();
  adopted_node_bytes_ = nodes_.committed_bytes();
  capacity_.store(slots, std::memory_order_release);
}

size_t HnswGraph::memory_bytes() const noexcept {
  return size_t{capacity()} * (level0_stride_words() * sizeof(uint32_t) + sizeof(NodeInfo)) +
         upper_used_ * sizeof(uint32_t);
}

}  // namespace iqdb::index::hnsw
