#include "index/ivf_coarse.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "exec/parallel.h"
#include "kernels/sq8.h"

namespace iqdb::index::ivf {

void CoarseCodes::build(const float* centroids, size_t stride, size_t k, size_t dim) {
  *this = CoarseCodes();
  if (k == 0 || dim == 0) return;
  std::vector<float> lo(dim, INFINITY), hi(dim, -INFINITY);
  for (size_t j = 0; j < k; ++j) {
    const float* c = centroids + j * stride;
    for (size_t d = 0; d < dim; ++d) {
      if (!std::isfinite(c[d])) return;
      lo[d] = std::min(lo[d], c[d]);
      hi[d] = std::max(hi[d], c[d]);
    }
  }
  float widest = 0;
  for (size_t d = 0; d < dim; ++d) widest = std::max(widest, hi[d] - lo[d]);
  if (!(widest > 0) || !std::isfinite(widest)) return;
  k_ = k;
  dim_ = dim;
  step_ = widest / 255.0f;
  inv_step_ = 1.0f / step_;
  offset_ = std::move(lo);
  codes_.resize(k * dim);
  for (size_t j = 0; j < k; ++j) {
    const float* c = centroids + j * stride;
    uint8_t* out = codes_.data() + j * dim;
    for (size_t d = 0; d < dim; ++d) {
      const float v = std::round((c[d] - offset_[d]) * inv_step_);
      out[d] = static_cast<uint8_t>(std::clamp(v, 0.0f, 255.0f));
    }
  }
}

bool CoarseCodes::quantize(const float* q, std::vector<int16_t>& query_codes) const {
  if (codes_.empty()) return false;
  query_codes.resize(dim_);
  float err[2];
  kernels::active_sq8_kernels().quantize(q, offset_.data(), inv_step_, dim_, kernels::kSq8QueryMin,
                                         kernels::kSq8QueryMax, query_codes.data(), err);
  // Rounding alone errs by at most half a step per dimension; more means
  // some codes clamped (or q is not finite) and the codes would misrank.
  return err[0] <= 0.25f * static_cast<float>(dim_) + 1.0f;
}

bool CoarseCodes::l2_distances(const float* q, std::vector<int16_t>& query_codes,
                               float* out) const {
  if (!quantize(q, query_codes)) return false;
  const kernels::Sq8Kernels& sq8 = kernels::active_sq8_kernels();
  const float step2 = step_ * step_;
  for (size_t j = 0; j < k_; ++j) {
    out[j] = step2 * sq8.l2_query(query_codes.data(), codes_.data() + j * dim_, dim_);
  }
  return true;
}

void CoarseCodes::l2_gather(const int16_t* query_codes, const uint32_t* ids, size_t n,
                            float* out) const {
  kernels::active_sq8_kernels().l2_gather(query_codes, codes_.data(), dim_, ids, n, dim_, out);
  const float step2 = step_ * step_;
  for (size_t i = 0; i < n; ++i) out[i] *= step2;
}

// ---- CoarseGraph.

namespace {

// Slack of the thinning rule, on squared distances: a candidate c of node i
// is dropped when a kept link s has kSlack * d(s, c) <= d(i, c) (1.2 on
// plain distances, as DiskANN's alpha).
constexpr float kSlack = 1.44f;
constexpr size_t kCandidates = 2 * CoarseGraph::kDegree;  // nearest looked at per node
constexpr size_t kMaxLinks = 2 * CoarseGraph::kDegree;    // after the links are made two-way
constexpr uint32_t kExpanded = uint32_t{1} << 31;

}  // namespace

void CoarseGraph::build(const CoarseCodes& codes) {
  *this = CoarseGraph();
  const size_t k = codes.k_, dim = codes.dim_;
  if (codes.empty() || k < 2 || k > kMaxNodes) return;
  const kernels::Sq8Kernels& sq8 = kernels::active_sq8_kernels();
  const uint8_t* rows = codes.codes_.data();
  auto row = [&](size_t j) { return rows + j * dim; };
  auto between = [&](uint32_t a, uint32_t b) { return sq8.l2_codes(row(a), row(b), dim); };
  std::vector<uint32_t> every(k);
  std::iota(every.begin(), every.end(), 0u);

  // Each node's nearest candidates, thinned.
  std::vector<std::vector<uint32_t>> links(k);
  const size_t n_cand = std::min(k - 1, kCandidates);
  exec::parallel_for(0, k, 16, [&](size_t begin, size_t end) {
    std::vector<int16_t> q(dim);
    std::vector<float> d(k);
    std::vector<uint32_t> order(k);
    for (size_t i = begin; i < end; ++i) {
      std::copy(row(i), row(i) + dim, q.begin());
      sq8.l2_gather(q.data(), rows, dim, every.data(), k, dim, d.data());
      std::iota(order.begin(), order.end(), 0u);
      std::swap(order[i], order.back());  // not a candidate of itself
      auto nearer = [&](uint32_t a, uint32_t b) { return d[a] < d[b] || (d[a] == d[b] && a < b); };
      std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n_cand),
                        order.end() - 1, nearer);
      std::vector<uint32_t>& kept = links[i];
      for (size_t c = 0; c < n_cand && kept.size() < kDegree; ++c) {
        const uint32_t cand = order[c];
        bool keep = true;
        for (uint32_t s : kept) {
          if (kSlack * between(s, cand) <= d[cand]) {
            keep = false;
            break;
          }
        }
        if (keep) kept.push_back(cand);
      }
    }
  });

  // Two-way: a node also links back to the nodes that chose it, nearest
  // first, up to kMaxLinks.
  std::vector<std::vector<uint32_t>> back(k);
  for (uint32_t i = 0; i < k; ++i) {
    for (uint32_t c : links[i]) back[c].push_back(i);
  }
  exec::parallel_for(0, k, 64, [&](size_t begin, size_t end) {
    std::vector<std::pair<float, uint32_t>> extra;
    for (size_t c = begin; c < end; ++c) {
      std::vector<uint32_t>& own = links[c];
      extra.clear();
      for (uint32_t r : back[c]) {
        if (std::find(own.begin(), own.end(), r) == own.end()) {
          extra.push_back({between(static_cast<uint32_t>(c), r), r});
        }
      }
      std::sort(extra.begin(), extra.end());
      for (size_t e = 0; e < extra.size() && own.size() < kMaxLinks; ++e) {
        own.push_back(extra[e].second);
      }
    }
  });

  // Entries spread over the centroids by farthest-point sampling: each
  // next entry is the centroid farthest from those chosen, so that every
  // clump of centroids gets one while there are fewer clumps than entries.
  {
    std::vector<float> nearest_entry(k, INFINITY), d(k);
    std::vector<int16_t> q(dim);
    uint32_t next = 0;
    for (size_t e = 0; e < std::min(k, kEntries); ++e) {
      entries_.push_back(next);
      std::copy(row(next), row(next) + dim, q.begin());
      sq8.l2_gather(q.data(), rows, dim, every.data(), k, dim, d.data());
      for (size_t j = 0; j < k; ++j) nearest_entry[j] = std::min(nearest_entry[j], d[j]);
      next = static_cast<uint32_t>(std::max_element(nearest_entry.begin(), nearest_entry.end()) -
                                   nearest_entry.begin());
      if (!(nearest_entry[next] > 0)) break;  // every centroid is an entry or a copy of one
    }
  }

  // Every node reachable from the first entry: a node no walk reaches is
  // linked from its nearest reached node, and the search goes on from
  // there.
  std::vector<uint8_t> reached(k, 0);
  std::vector<uint32_t> stack;
  auto reach_from = [&](uint32_t start) {
    reached[start] = 1;
    stack.push_back(start);
    while (!stack.empty()) {
      const uint32_t v = stack.back();
      stack.pop_back();
      for (uint32_t w : links[v]) {
        if (!reached[w]) {
          reached[w] = 1;
          stack.push_back(w);
        }
      }
    }
  };
  reach_from(entries_[0]);
  for (uint32_t u = 0; u < k; ++u) {
    if (reached[u]) continue;
    uint32_t best = entries_[0];
    float best_d = INFINITY;
    for (uint32_t v = 0; v < k; ++v) {
      if (!reached[v]) continue;
      const float dv = between(u, v);
      if (dv < best_d) best_d = dv, best = v;
    }
    links[best].push_back(u);
    reach_from(u);
  }

  offsets_.resize(k + 1);
  offsets_[0] = 0;
  for (size_t j = 0; j < k; ++j)
    offsets_[j + 1] = offsets_[j] + static_cast<uint32_t>(links[j].size());
  links_.reserve(offsets_[k]);
  for (const auto& l : links) links_.insert(links_.end(), l.begin(), l.end());
}

void CoarseGraph::search(const CoarseCodes& codes, const int16_t* query_codes, size_t ef,
                         Scratch& s) const {
  auto& beam = s.beam;
  beam.clear();
  if (empty() || ef == 0) return;
  const size_t k = offsets_.size() - 1;
  s.visited.begin(k);
  // A node's unvisited links, and the entries, are each fewer than k.
  if (s.ids.size() < k) s.ids.resize(k);
  if (s.dist.size() < k) s.dist.resize(k);
  const size_t n_entries = entries_.size();
  codes.l2_gather(query_codes, entries_.data(), n_entries, s.dist.data());
  for (size_t i = 0; i < n_entries; ++i) {
    s.visited.test_and_set(entries_[i]);
    beam.push_back({s.dist[i], entries_[i]});
  }
  std::sort(beam.begin(), beam.end());
  if (beam.size() > ef) beam.resize(ef);
  size_t next = 0;  // no unexpanded entry before this one
  while (next < beam.size()) {
    if (beam[next].second & kExpanded) {
      ++next;
      continue;
    }
    const uint32_t v = beam[next].second;
    beam[next].second |= kExpanded;
    size_t m = 0;
    for (uint32_t e = offsets_[v]; e < offsets_[v + 1]; ++e) {
      if (!s.visited.test_and_set(links_[e])) s.ids[m++] = links_[e];
    }
    if (m == 0) continue;
    codes.l2_gather(query_codes, s.ids.data(), m, s.dist.data());
    for (size_t i = 0; i < m; ++i) {
      const float d = s.dist[i];
      if (beam.size() >= ef && !(d < beam.back().first)) continue;
      auto at = std::upper_bound(
          beam.begin(), beam.end(), d,
          [](float x, const std::pair<float, uint32_t>& b) { return x < b.first; });
      const size_t pos = static_cast<size_t>(at - beam.begin());
      beam.insert(at, {d, s.ids[i]});
      if (beam.size() > ef) beam.pop_back();
      next = std::min(next, pos);
    }
  }
  for (auto& b : beam) b.second &= ~kExpanded;
}

}  // namespace iqdb::index::ivf
