// TopK: keeps the k best (smallest) candidates seen so far.
//
// Order is by distance, then by `order` (a record's insertion sequence), so
// equal distances break ties deterministically on insertion order.
//
// Thread-safety: none; one per query.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace iqdb::util {

struct Candidate {
  float distance;
  uint64_t order;
  uint32_t slot;

  friend bool operator<(const Candidate& a, const Candidate& b) noexcept {
    return a.distance < b.distance || (a.distance == b.distance && a.order < b.order);
  }
};

class TopK {
 public:
  explicit TopK(size_t k) : k_(k) { heap_.reserve(k); }

  size_t k() const noexcept { return k_; }
  size_t size() const noexcept { return heap_.size(); }
  bool full() const noexcept { return heap_.size() >= k_; }
  // The distance a candidate must beat (or tie with a lower order) to enter.
  float threshold() const noexcept {
    return full() ? heap_.front().distance : std::numeric_limits<float>::infinity();
  }

  // Offers a candidate; keeps it if it is among the k best so far.
  void push(const Candidate& c) {
    if (k_ == 0) return;
    if (heap_.size() < k_) {
      heap_.push_back(c);
      std::push_heap(heap_.begin(), heap_.end());
    } else if (c < heap_.front()) {
      std::pop_heap(heap_.begin(), heap_.end());
      heap_.back() = c;
      std::push_heap(heap_.begin(), heap_.end());
    }
  }

  // The kept candidates, best first. Leaves the TopK empty.
  std::vector<Candidate> take_sorted() {
    std::sort_heap(heap_.begin(), heap_.end());
    return std::move(heap_);
  }

 private:
  size_t k_;
  std::vector<Candidate> heap_;  // max-heap: the worst kept candidate on top
};

}  // namespace iqdb::util
