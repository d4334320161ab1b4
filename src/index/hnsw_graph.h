// HnswGraph: the memory layout of an HNSW graph and its per-node locks.
//
// Layout (all in util::Arena, so nothing moves as the graph grows and each
// array can be adopted from a snapshot in place):
//   level 0  one record per slot, fixed stride of 1 + 2M uint32 words:
//              word 0    head: bits 0..15 the link count, bits 16..31 a
//                        version whose low bit (bit 16) is the node's lock
//              words 1.. up to 2M neighbour slots
//   nodes    one NodeInfo (8 bytes) per slot: top level, presence, and the
//            offset of its upper-level block
//   upper    blocks of level * (1 + M) words, one per node above level 0;
//            level l (1..level) is [count, up to M neighbour slots]
//
// Concurrency: a node's head word is a seqlock covering all of the node's
// lists. Writers lock it (lock bit set), rewrite lists with release stores
// and unlock (the version advances). Readers copy a list with acquire loads
// and retry when the head changed or was locked, for a bounded number of
// spins: past them they keep the copy as read (see read_links), so a
// reader never waits on a writer, which may be preempted while it holds a
// node. Readers never block each other. Every access to list words is atomic
// (std::atomic_ref), which keeps ThreadSanitizer precise.
// A NodeInfo is written before its node is linked anywhere (the link's
// release store publishes it), and changed otherwise only under exclusive
// access.
//
// Thread-safety: read_links() may run concurrently with anything except
// exclusive operations; lock()/write_links() serialise writers per node;
// reserve() and allocate_upper() are internally synchronised.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>
#include <vector>

#include "iqdb/status.h"
#include "util/arena.h"

namespace iqdb::index::hnsw {

// Top level a node may have. With m >= 2 a level above 15 has probability
// below 2^-15 per node; the cap keeps the upper blocks bounded.
inline constexpr uint32_t kMaxLevel = 15;
// Slots are limited to 31 bits: the search pool keeps a flag in bit 31.
inline constexpr uint32_t kMaxSlots = 0x7FFF'FFFFu;

struct NodeInfo {
  uint32_t upper_offset;  // words into the upper arena (level > 0 only)
  uint8_t level;          // top level
  uint8_t present;        // 1: the node is in the graph
  uint16_t reserved;      // zero
};
static_assert(sizeof(NodeInfo) == 8);

class HnswGraph {
 public:
  explicit HnswGraph(size_t m);
  HnswGraph(const HnswGraph&) = delete;
  HnswGraph& operator=(const HnswGraph&) = delete;

  size_t m() const noexcept { return m_; }
  // Capacity of the list at `level`: 2M at level 0, M above.
  size_t max_links(uint32_t level) const noexcept { return level == 0 ? 2 * m_ : m_; }
  size_t level0_stride_words() const noexcept { return 1 + 2 * m_; }
  size_t upper_block_words() const noexcept { return 1 + m_; }

  // Slots [0, capacity()) have records.
  uint32_t capacity() const noexcept { return capacity_.load(std::memory_order_acquire); }
  // Makes records for slots [0, slots) exist (zeroed: absent, no links).
  Status reserve(uint32_t slots);

  NodeInfo& info(uint32_t slot) noexcept { return nodes()[slot]; }
  const NodeInfo& info(uint32_t slot) const noexcept { return nodes()[slot]; }
  // For readers that run beside inserts without reaching the node through
  // a link (the exact scan of a filter's matches): an insert writes the
  // node's codes, then marks it present with a release store, so a reader
  // that sees it present (acquire) sees its codes.
  void mark_present(uint32_t slot) noexcept {
    std::atomic_ref<uint8_t>(nodes()[slot].present).store(1, std::memory_order_release);
  }
  bool present_acquire(uint32_t slot) const noexcept {
    return std::atomic_ref<uint8_t>(const_cast<NodeInfo&>(nodes()[slot]).present)
               .load(std::memory_order_acquire) != 0;
  }

  // ---- Writers: lock the node (through NodeLock), read or replace its
  // lists, unlock.
  void lock(uint32_t slot) noexcept;
  void unlock(uint32_t slot) noexcept;
  // The node's list at `level` while its lock is held (or under exclusive
  // access); returns the count written to `out` (>= max_links(level) room).
  size_t links_locked(uint32_t slot, uint32_t level, uint32_t* out) const noexcept;
  // Replaces the node's list at `level`; requires the lock (or exclusive
  // access) and n <= max_links(level).
  void write_links(uint32_t slot, uint32_t level, const uint32_t* links, size_t n) noexcept;

  // ---- Readers: a copy of the list, safe against writers. Consistent
  // (the list as it was at one instant) unless a writer holds or rewrites
  // the node through kReadSpins retries; then each link copied is one the
  // list held during that write (old or new), so every link is a node
  // the graph links and the count never exceeds max_links(level).
  size_t read_links(uint32_t slot, uint32_t level, uint32_t* out) const noexcept;
  static constexpr unsigned kReadSpins = 128;
  // Hints the cache about the node's list at `level`.
  void prefetch_links(uint32_t slot, uint32_t level) const noexcept;

  // Gives the node an upper block for levels 1..info.level (counts zero);
  // requires info(slot).level to be set. Thread-safe.
  Status allocate_upper(uint32_t slot);
  // Clears every list of the node and returns its upper block for reuse.
  // Exclusive access.
  void release(uint32_t slot) noexcept;

  // ---- Persistence views (exclusive access or no concurrent writers).
  std::span<const uint8_t> level0_bytes() const noexcept;
  std::span<const uint8_t> node_bytes() const noexcept;
  std::span<const uint8_t> upper_bytes() const noexcept;
  size_t upper_words_used() const noexcept { return upper_used_; }
  // Takes over adopted arenas holding `slots` records and `upper_words`
  // upper words (sizes already checked by the caller).
  void adopt(util::Arena level0, util::Arena nodes, util::Arena upper, uint32_t slots,
             size_t upper_words);

  // Bytes of graph structure for the current capacity.
  size_t memory_bytes() const noexcept;

 private:
  NodeInfo* nodes() const noexcept { return reinterpret_cast<NodeInfo*>(nodes_base_); }
  uint32_t* head(uint32_t slot) const noexcept {
    return level0_base_ + size_t{slot} * level0_stride_words();
  }
  // [count, links...] of level >= 1.
  uint32_t* upper_list(uint32_t slot, uint32_t level) const noexcept {
    return upper_base_ + nodes()[slot].upper_offset + size_t{level - 1} * upper_block_words();
  }

  size_t m_;
  util::Arena level0_;
  util::Arena nodes_;
  util::Arena upper_;
  // Stable copies of the arenas' base pointers (set before any record is
  // published; arenas never move).
  uint32_t* level0_base_ = nullptr;
  uint8_t* nodes_base_ = nullptr;
  uint32_t* upper_base_ = nullptr;
  std::atomic<uint32_t> capacity_{0};
  std::mutex grow_mutex_;                          // reserve()
  std::mutex upper_mutex_;                         // allocate_upper()/release()
  size_t upper_used_ = 0;                          // words handed out (guarded by upper_mutex_)
  std::vector<std::vector<uint32_t>> free_upper_;  // by level: offsets of released blocks
  // Committed bytes that came from an adopted snapshot (may hold stray file
  // bytes past its records; cleared as records are added there).
  size_t adopted_level0_bytes_ = 0;
  size_t adopted_node_bytes_ = 0;
};

// Holds one node's seqlock for its scope. Readers spin while the lock bit is
// set, so it must be released on every path, exceptions included.
class NodeLock {
 public:
  NodeLock(HnswGraph& graph, uint32_t slot) noexcept : graph_(graph), slot_(slot) {
    graph_.lock(slot_);
  }
  ~NodeLock() { graph_.unlock(slot_); }
  NodeLock(const NodeLock&) = delete;
  NodeLock& operator=(const NodeLock&) = delete;

 private:
  HnswGraph& graph_;
  uint32_t slot_;
};

}  // namespace iqdb::index::hnsw
