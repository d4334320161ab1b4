// Expanding a node in the walk of a filter's matching subgraph
// (AcceptMatchingSubgraph::links): a node with a quarter or more of its
// level-0 list matching yields its own matching links only; a node with
// fewer also yields the matches behind its non-matching links (two hops).
// Checked on a hand-built graph, so the expected sets are known exactly.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include <doctest/doctest.h>

#include "index/hnsw_graph.h"
#include "index/hnsw_layer.h"

namespace iqdb::index::hnsw {
namespace {

constexpr size_t kM = 4;  // level-0 lists of 8: a quarter is 2
constexpr uint32_t kNodes = 64;

struct Matching {
  const std::vector<uint8_t>* mask;
  bool matches(uint32_t slot) const noexcept { return (*mask)[slot] != 0; }
};

struct Graph {
  HnswGraph graph{kM};
  Graph() {
    REQUIRE(graph.reserve(kNodes).ok());
    for (uint32_t s = 0; s < kNodes; ++s) {
      graph.info(s).level = 0;
      graph.info(s).present = 1;
    }
  }
  void link(uint32_t from, std::vector<uint32_t> to) {
    NodeLock lock(graph, from);
    graph.write_links(from, 0, to.data(), to.size());
  }
};

// What expanding `u` yields, sorted, with only `u` visited before.
std::vector<uint32_t> expand(const Graph& g, const std::vector<uint8_t>& mask, uint32_t u) {
  Scratch s;
  const Matching pred{&mask};
  AcceptMatchingSubgraph<Matching> beam(s, pred, 10, 1, g.graph.max_links(0), g.graph.max_links(0));
  s.visited.begin(g.graph.capacity());
  s.visited.test_and_set(u);
  std::vector<uint32_t> out(2 * g.graph.max_links(0));
  const size_t n = beam.links(g.graph, u, 0, s, out.data());
  out.resize(n);
  std::sort(out.begin(), out.end());
  return out;
}

TEST_CASE("hnsw subgraph walk: a node whose own links reach enough matches takes no second hop") {
  Graph g;
  std::vector<uint8_t> mask(kNodes, 0);
  // Node 0: links 1..8; 1 and 2 match. Behind each non-matching link
  // (3..8) sit two matches of their own (30 + 2i, 31 + 2i).
  for (uint32_t v : {1u, 2u}) mask[v] = 1;
  for (uint32_t i = 0; i < 6; ++i) mask[30 + 2 * i] = mask[31 + 2 * i] = 1;
  g.link(0, {1, 2, 3, 4, 5, 6, 7, 8});
  for (uint32_t i = 0; i < 6; ++i) g.link(3 + i, {0, 30 + 2 * i, 31 + 2 * i});
  CHECK(expand(g, mask, 0) == std::vector<uint32_t>{1, 2});

  // With one matching link (a quarter is not reached) the second hop runs:
  // the matches behind 3..8 come too, up to the list's size in all.
  mask[2] = 0;
  const std::vector<uint32_t> got = expand(g, mask, 0);
  CHECK(got.size() == g.graph.max_links(0));
  CHECK(std::find(got.begin(), got.end(), 1u) != got.end());
  for (uint32_t v : got) CHECK(mask[v] == 1);
  CHECK(std::count_if(got.begin(), got.end(), [](uint32_t v) { return v >= 30; }) == 7);
}

TEST_CASE("hnsw subgraph walk: matching links already visited count towards the quarter") {
  Graph g;
  std::vector<uint8_t> mask(kNodes, 0);
  for (uint32_t v : {1u, 2u, 40u, 41u}) mask[v] = 1;
  g.link(0, {1, 2, 3});
  g.link(3, {40, 41});
  // 1 and 2 were reached before: node 0 yields nothing new, and its list
  // (two matches of eight) still counts as linked to the subgraph.
  Scratch s;
  const Matching pred{&mask};
  AcceptMatchingSubgraph<Matching> beam(s, pred, 10, 1, g.graph.max_links(0), g.graph.max_links(0));
  s.visited.begin(g.graph.capacity());
  for (uint32_t v : {0u, 1u, 2u}) s.visited.test_and_set(v);
  std::vector<uint32_t> out(g.graph.max_links(0));
  CHECK(beam.links(g.graph, 0, 0, s, out.data()) == 0);
  // With only one of them matching, the second hop through 3 finds 40, 41.
  mask[2] = 0;
  Scratch s2;
  AcceptMatchingSubgraph<Matching> beam2(s2, pred, 10, 1, g.graph.max_links(0),
                                         g.graph.max_links(0));
  s2.visited.begin(g.graph.capacity());
  for (uint32_t v : {0u, 1u, 2u}) s2.visited.test_and_set(v);
  const size_t n = beam2.links(g.graph, 0, 0, s2, out.data());
  std::vector<uint32_t> got(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n));
  std::sort(got.begin(), got.end());
  CHECK(got == std::vector<uint32_t>{40, 41});
}

}  // namespace
}  // namespace iqdb::index::hnsw
