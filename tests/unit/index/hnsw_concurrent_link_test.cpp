// A node inserted while searches run is linked from elsewhere, on any
// level, only once its own level-0 list is written: a search that descends
// to it on an upper level walks level 0 from it, and an empty list there
// would end that walk with one node (the search would then answer by an
// exact scan of every row). A watcher thread checks this for every node
// of level >= 1 while a writer inserts them.
#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "index/hnsw.h"
#include "index/vector_store.h"

namespace iqdb::index {
namespace {

std::vector<float> random_rows(size_t n, size_t dim, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> rows(n * dim);
  for (float& v : rows) v = normal(rng);
  return rows;
}

bool holds(const std::vector<uint32_t>& list, uint32_t slot) {
  for (uint32_t s : list)
    if (s == slot) return true;
  return false;
}

TEST_CASE("hnsw concurrent inserts: a node is linked back on upper levels only after level 0") {
  const size_t dim = 16, base = 1500, added = 2500;
  VectorStore store(dim, Metric::kL2);
  const std::vector<float> rows = random_rows(base + added, dim, 2024);
  std::vector<uint32_t> slots;
  for (size_t i = 0; i < base + added; ++i) {
    auto r = store.upsert(VectorId(uint64_t{i}), {rows.data() + i * dim, dim}, nullptr);
    REQUIRE(r.ok());
    slots.push_back(r->slot);
  }
  HnswIndex::Options options;
  options.sq8_min_rows = 256;
  // ef_construction wide enough that a level-0 search takes a while.
  HnswIndex index(store, HnswConfig{}.with_m(8).with_ef_construction(200), options);
  for (size_t i = 0; i < base; ++i) REQUIRE(index.insert(slots[i]).ok());

  std::atomic<size_t> inserted{base};
  std::atomic<bool> done{false};
  std::atomic<size_t> violations{0}, checks{0};
  std::thread watcher([&] {
    while (!done.load(std::memory_order_acquire)) {
      // The node being inserted now (it may not be in the graph yet).
      const size_t i = inserted.load(std::memory_order_acquire);
      if (i >= base + added) break;
      const uint32_t slot = slots[i];
      if (!index.contains(slot) || index.level(slot) == 0) continue;
      // Linked back from an upper-level neighbour: its own level-0 list must
      // be there already. Read in that order: the lists only grow during
      // the insert, so a link seen before an empty list is a violation.
      bool reachable_above = false;
      for (uint32_t l = 1; l <= index.level(slot) && !reachable_above; ++l) {
        for (uint32_t n : index.neighbors(slot, l)) {
          if (holds(index.neighbors(n, l), slot)) {
            reachable_above = true;
            break;
          }
        }
      }
      if (!reachable_above) continue;
      checks.fetch_add(1, std::memory_order_relaxed);
      if (index.neighbors(slot, 0).empty()) violations.fetch_add(1, std::memory_order_relaxed);
    }
  });
  for (size_t i = base; i < base + added; ++i) {
    inserted.store(i, std::memory_order_release);
    REQUIRE(index.insert(slots[i]).ok());
  }
  inserted.store(base + added, std::memory_order_release);
  done.store(true, std::memory_order_release);
  watcher.join();
  MESSAGE(checks.load(), " checks of nodes linked back on an upper level");
  CHECK(violations.load() == 0);
  CHECK(index.size() == base + added);
  CHECK(index.check().ok());
}

}  // namespace
}  // namespace iqdb::index
