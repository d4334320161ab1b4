// VisitedSet: which nodes a graph walk has touched, for walks that run
// again and again on one thread (HNSW layers, the IVF coarse graph).
//
// Thread-safety: none; one per thread (a walk's scratch).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace iqdb::util {

// Which slots the current walk has touched. A slot is visited when its tag
// equals the walk's epoch, so starting a walk costs one increment, not a
// clear. Slots beyond the size given to begin() (added by a concurrent
// insert after the walk started) count as visited: they are skipped.
class VisitedSet {
 public:
  void begin(size_t slots) {
    if (tags_.size() < slots) tags_.resize(slots + slots / 4, 0);
    if (++epoch_ == 0) {  // wrapped: old tags could collide
      std::fill(tags_.begin(), tags_.end(), uint16_t{0});
      epoch_ = 1;
    }
    limit_ = std::min(slots, tags_.size());
  }
  // True if already visited; marks it otherwise.
  bool test_and_set(uint32_t slot) noexcept {
    if (slot >= limit_) return true;
    uint16_t& tag = tags_[slot];
    if (tag == epoch_) return true;
    tag = epoch_;
    return false;
  }
  bool contains(uint32_t slot) const noexcept { return slot >= limit_ || tags_[slot] == epoch_; }

 private:
  std::vector<uint16_t> tags_;
  uint16_t epoch_ = 0;
  size_t limit_ = 0;
};

}  // namespace iqdb::util
