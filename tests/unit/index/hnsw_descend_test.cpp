// The greedy descent scores each slot at most once per descent; that must
// not change where it ends. Compared here with the plain greedy walk (every
// neighbour scored on every step) on random multi-level graphs, with a space
// that, like the SQ8 kernels, may return any value past the bound for a
// distance that exceeds it.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include <doctest/doctest.h>

#include "index/hnsw_graph.h"
#include "index/hnsw_layer.h"

namespace iqdb::index::hnsw {
namespace {

// Points on a line; the distance is the absolute difference. A distance past
// the bound comes back as a value between the bound and the distance.
struct LineSpace {
  const std::vector<float>* points;
  float query;
  mutable size_t scored = 0;
  float exact(uint32_t slot) const { return std::fabs((*points)[slot] - query); }
  float distance(uint32_t slot) const {
    ++scored;
    return exact(slot);
  }
  void distances_within(const uint32_t* slots, size_t n, float bound, float* out) const {
    for (size_t i = 0; i < n; ++i) {
      ++scored;
      const float d = exact(slots[i]);
      out[i] = d > bound ? bound + (d - bound) / 2 : d;
    }
  }
  void prefetch(uint32_t) const {}
};

// The greedy walk without any memory of what it scored; adds the distances
// it computes to `scored`.
Cand plain_descend(const HnswGraph& graph, const LineSpace& space, Cand cur, uint32_t top,
                   uint32_t bottom, size_t& scored) {
  std::vector<uint32_t> links(graph.max_links(1));
  for (uint32_t level = top; level > bottom; --level) {
    for (bool moved = true; moved;) {
      moved = false;
      const size_t n = graph.read_links(cur.slot, level, links.data());
      scored += n;
      for (size_t i = 0; i < n; ++i) {
        const float d = space.exact(links[i]);
        if (d < cur.dist) {
          cur = Cand{d, links[i]};
          moved = true;
        }
      }
    }
  }
  return cur;
}

TEST_CASE("hnsw greedy descent: scoring each slot once ends where the plain greedy walk ends") {
  constexpr size_t kM = 4, kNodes = 300, kQueries = 50;
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> where(0.0f, 1000.0f);
  size_t scored = 0, plain_scored = 0;
  for (int round = 0; round < 10; ++round) {
    HnswGraph graph(kM);
    REQUIRE(graph.reserve(kNodes).ok());
    std::vector<float> points(kNodes);
    std::vector<uint32_t> top(kNodes);
    for (uint32_t s = 0; s < kNodes; ++s) {
      points[s] = where(rng);
      // Levels 1..3, so every node has lists to descend through.
      top[s] = 1 + static_cast<uint32_t>(rng() % 3);
      graph.info(s).level = static_cast<uint8_t>(top[s]);
      graph.info(s).present = 1;
      REQUIRE(graph.allocate_upper(s).ok());
    }
    // Each level: a ring through its nodes in random order plus random
    // chords, every link both ways (as HNSW's are, mostly), so the plain
    // walk scores the node it came from again after every move.
    for (uint32_t level = 1; level <= 3; ++level) {
      std::vector<uint32_t> members;
      for (uint32_t s = 0; s < kNodes; ++s)
        if (top[s] >= level) members.push_back(s);
      std::shuffle(members.begin(), members.end(), rng);
      std::vector<std::vector<uint32_t>> links(kNodes);
      auto link = [&](uint32_t a, uint32_t b) {
        if (a == b || links[a].size() >= kM || links[b].size() >= kM) return;
        if (std::find(links[a].begin(), links[a].end(), b) != links[a].end()) return;
        links[a].push_back(b);
        links[b].push_back(a);
      };
      for (size_t i = 0; i < members.size(); ++i) {
        link(members[i], members[(i + 1) % members.size()]);
      }
      for (size_t i = 0; i < members.size(); ++i) {
        link(members[i], members[rng() % members.size()]);
      }
      for (const uint32_t s : members) {
        NodeLock lock(graph, s);
        graph.write_links(s, level, links[s].data(), links[s].size());
      }
    }
    Scratch scratch;
    for (size_t q = 0; q < kQueries; ++q) {
      const LineSpace space{&points, where(rng)};
      const auto start = static_cast<uint32_t>(rng() % kNodes);
      const Cand from{space.exact(start), start};
      const uint32_t bottom = static_cast<uint32_t>(rng() % top[start]);
      const Cand want = plain_descend(graph, space, from, top[start], bottom, plain_scored);
      const Cand got = greedy_descend(graph, space, from, top[start], bottom, scratch);
      CHECK(got.slot == want.slot);
      CHECK(got.dist == want.dist);
      scored += space.scored;
    }
  }
  // Links back to where the walk came from are not scored again.
  CHECK(scored < plain_scored);
}

}  // namespace
}  // namespace iqdb::index::hnsw
