// InvertedLists: the lists of an IVF index. Each list keeps its entries'
// slots in one contiguous array and their payloads in another:
//   kFlat  the row itself (f32, the store's padded stride), so IVF-Flat
//          streams a list's rows in order;
//   kPq8   num_sub one-byte codes per entry, entry after entry;
//   kFs4   4-bit codes in fast-scan blocks of 32 entries (kernels/pq.h).
// A payload starts 64-byte aligned. A list's storage is either its own
// heap buffer (grown by 1.5x) or a range of arenas adopted from a snapshot
// (used in place until the list outgrows it).
//
// Every entry's list is recorded per slot (list_of), so a remove finds the
// list at once and the entry by a scan of that list's slots; the last entry
// then moves into the hole, so removes are O(list length) at worst.
//
// Thread-safety: const methods may run concurrently. Mutations need
// exclusive access, except that append() on distinct lists may run
// concurrently through append_reserved() (see there).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <vector>

#include "iqdb/status.h"
#include "util/arena.h"

namespace iqdb::index {
class VectorStore;
}

namespace iqdb::index::ivf {

inline constexpr uint32_t kNoList = 0xFFFF'FFFFu;

enum class PayloadKind : uint8_t { kFlat = 0, kPq8 = 1, kFs4 = 2 };

struct PayloadLayout {
  PayloadKind kind = PayloadKind::kFlat;
  size_t entry_bytes = 0;  // kFlat: bytes per row; kPq8: num_sub
  size_t num_sub = 0;      // kPq8, kFs4: codes per entry
  size_t m_pad = 0;        // kFs4: subquantizers after padding

  // Payload bytes of `entries` entries (kFs4: whole blocks).
  size_t bytes_for(size_t entries) const noexcept;
  // `entries` rounded up to what the payload can hold (kFs4: a multiple of 32).
  size_t round_capacity(size_t entries) const noexcept;
};

class InvertedLists {
 public:
  InvertedLists(const PayloadLayout& layout, size_t n_lists);
  InvertedLists(InvertedLists&&) noexcept;
  InvertedLists& operator=(InvertedLists&&) noexcept;
  ~InvertedLists();

  const PayloadLayout& layout() const noexcept { return layout_; }
  size_t n_lists() const noexcept { return lists_.size(); }
  size_t size(uint32_t list) const noexcept { return lists_[list].size; }
  const uint32_t* slots(uint32_t list) const noexcept { return lists_[list].slots; }
  const uint8_t* payload(uint32_t list) const noexcept { return lists_[list].payload; }
  // Entries over all lists.
  size_t total() const noexcept { return total_; }
  // The list holding `slot`, or kNoList.
  uint32_t list_of(uint32_t slot) const noexcept {
    return slot < list_of_slot_.size() ? list_of_slot_[slot] : kNoList;
  }

  // Makes room for `entries` entries in all in `list`. kResourceExhausted
  // when memory runs out (the list is then unchanged).
  Status reserve(uint32_t list, size_t entries);
  // Sizes the slot map for slots below `slot_end`.
  Status prepare_slots(uint32_t slot_end);
  // Appends `slot` with its payload: the row bytes (kFlat) or num_sub codes,
  // one per byte (kPq8, kFs4). Requires the slot to be in no list.
  Status append(uint32_t list, uint32_t slot, const uint8_t* entry);
  // append() without growth or bookkeeping, for filling lists in parallel:
  // requires reserve() to have made room and prepare_slots() to cover the
  // slot; calls on distinct lists may run concurrently. Call
  // recount_total() once they are done.
  void append_reserved(uint32_t list, uint32_t slot, const uint8_t* entry) noexcept;
  void recount_total() noexcept;

 private:
  struct Buffer;

 public:
  // Room for appends made beside readers: prepare_growth() copies every
  // list the appends of `labels` (one entry per list label) would overfill,
  // and the slot map when `slot_end` outgrows it, into bigger buffers while
  // the lists are only read; commit_growth() swaps them in, O(lists grown),
  // after which append_reserved() has room for those appends. The replaced
  // buffers move into the Growth and are freed with it, outside whatever
  // step held readers off.
  class Growth {
   public:
    Growth();
    Growth(Growth&&) noexcept;
    ~Growth();

   private:
    friend class InvertedLists;
    struct Grown;
    std::vector<Grown> lists;
    std::vector<uint32_t> slot_map;
    bool slot_map_grown = false;
  };
  // kResourceExhausted when memory runs out (nothing changes).
  Status prepare_growth(std::span<const uint32_t> labels, uint32_t slot_end, Growth& out) const;
  void commit_growth(Growth& growth) noexcept;
  // Counts `n` entries added through append_reserved() (recount_total()
  // without the pass over the lists).
  void add_to_total(size_t n) noexcept { total_ += n; }
  // Takes `slot` out of its list; false when it was in none.
  bool remove(uint32_t slot);

  // The num_sub codes of entry `pos` of `list` (kPq8, kFs4).
  void codes_at(uint32_t list, size_t pos, uint8_t* out) const;

  // Heap buffers, adopted arenas and the slot map.
  size_t memory_bytes() const noexcept;

  // ---- Persistence (see ivf_persist.cpp for the format).
  // u32 size per list; all slots list after list; all payloads list after
  // list, each padded to a multiple of 64 bytes.
  void serialize(std::string* sizes, std::string* slots, std::string* payloads) const;
  // Byte counts the slot and payload sections must have for these sizes.
  static Status expected_bytes(const PayloadLayout& layout, std::span<const uint32_t> sizes,
                               uint64_t* slot_bytes, uint64_t* payload_bytes);
  // Lists over adopted slot and payload arenas (their byte counts already
  // checked against expected_bytes). Every slot must be a live row of
  // `store`, in one list only, and every live row must be in a list:
  // kCorruption otherwise.
  static Result<InvertedLists> adopt(const PayloadLayout& layout, std::span<const uint32_t> sizes,
                                     util::Arena slots, util::Arena payloads,
                                     const VectorStore& store);

 private:
  // A 64-byte-aligned heap allocation.
  struct Buffer {
    struct Free {
      void operator()(uint8_t* p) const noexcept { ::operator delete (p, std::align_val_t{64}); }
    };
    std::unique_ptr<uint8_t, Free> bytes;
    size_t size = 0;
    // Throws std::bad_alloc.
    static Buffer allocate(size_t size);
  };
  struct List {
    uint32_t* slots = nullptr;
    uint8_t* payload = nullptr;
    uint32_t size = 0;
    uint32_t capacity = 0;
    Buffer own_slots, own_payload;  // empty while the list lives in adopted arenas
  };

  Status grow(List& list, size_t entries);
  // A copy of `list` with room for `entries`; install() swaps it in.
  Status make_bigger(const List& list, size_t entries, Growth::Grown& out) const;
  void install(List& list, Growth::Grown& bigger) noexcept;
  uint8_t* entry_address(List& list, size_t pos) noexcept;
  void write_entry(List& list, size_t pos, const uint8_t* entry) noexcept;
  void move_entry(List& list, size_t from, size_t to) noexcept;

  PayloadLayout layout_;
  std::vector<List> lists_;
  std::vector<uint32_t> list_of_slot_;
  size_t total_ = 0;
  size_t owned_bytes_ = 0;
  util::Arena adopted_slots_;
  util::Arena adopted_payloads_;
};

}  // namespace iqdb::index::ivf
