// Private state shared by the hnsw*.cpp files: the synchronisation and
// bookkeeping HnswIndex keeps behind a pointer (so the index stays movable).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <shared_mutex>
#include <vector>

#include "index/hnsw.h"

namespace iqdb::index {

struct HnswIndex::Sync {
  static constexpr uint64_t kNoEntry = ~uint64_t{0};

  // (level << 32) | slot of the entry point, or kNoEntry.
  std::atomic<uint64_t> entry{kNoEntry};
  std::atomic<uint32_t> count{0};      // nodes in the graph
  std::atomic<bool> sq8_ready{false};  // codes trained and written for every node
  std::mutex entry_mutex;              // an insert that raises the top level holds it
  std::shared_mutex writers;           // inserts: shared; SQ8 training: exclusive
  std::mutex grow;                     // capacity growth of graph and codes
  std::vector<uint32_t> marks;         // unlink() scratch, all zero between calls
  std::atomic<size_t> inserts_since_repair{0};
  std::mutex repair;  // one repair_reachability() at a time
};

}  // namespace iqdb::index
