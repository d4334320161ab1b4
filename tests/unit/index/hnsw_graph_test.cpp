// HnswGraph's per-node seqlock as readers see it: a reader never waits on a
// node a writer holds (a writer may be preempted while it holds one). Past
// its bounded spin it takes the list as it stands, and any list it copies,
// consistent or not, holds only links some version of the list held, never
// more than the list's capacity.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "index/hnsw_graph.h"

namespace iqdb::index::hnsw {

TEST_CASE("hnsw graph: a reader takes a held node's links as they stand instead of waiting") {
  HnswGraph graph(2);  // level 0 holds up to 4 links
  REQUIRE(graph.reserve(8).ok());
  const uint32_t first[] = {1, 2, 3};
  graph.write_links(0, 0, first, 3);
  std::vector<uint32_t> out(graph.max_links(0));
  REQUIRE(graph.read_links(0, 0, out.data()) == 3);
  CHECK(std::vector<uint32_t>(out.begin(), out.begin() + 3) == std::vector<uint32_t>{1, 2, 3});
  {
    // This thread holds the node, as a writer preempted mid-rewrite would:
    // a reader waiting for the unlock would never return.
    NodeLock held(graph, 0);
    const uint32_t second[] = {4, 5};
    graph.write_links(0, 0, second, 2);
    REQUIRE(graph.read_links(0, 0, out.data()) == 2);
    CHECK(out[0] == 4);
    CHECK(out[1] == 5);
  }
  REQUIRE(graph.read_links(0, 0, out.data()) == 2);
  CHECK(out[0] == 4);
}

TEST_CASE("hnsw graph: links read concurrently with a writer rewriting a node are ones it wrote") {
  HnswGraph graph(2);
  REQUIRE(graph.reserve(16).ok());
  const std::vector<uint32_t> a = {1, 2, 3}, b = {4, 5, 6, 7};
  graph.write_links(0, 0, a.data(), a.size());
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop.load(std::memory_order_relaxed); ++i) {
      NodeLock held(graph, 0);
      const std::vector<uint32_t>& next = i % 2 == 0 ? b : a;
      graph.write_links(0, 0, next.data(), next.size());
    }
  });
  std::vector<uint32_t> out(graph.max_links(0));
  size_t bad = 0;
  for (int r = 0; r < 20000; ++r) {
    const size_t n = graph.read_links(0, 0, out.data());
    if (n != a.size() && n != b.size()) ++bad;
    for (size_t i = 0; i < n; ++i) {
      if (out[i] < 1 || out[i] > 7) ++bad;
    }
  }
  stop = true;
  writer.join();
  CHECK(bad == 0);
}

}  // namespace iqdb::index::hnsw
