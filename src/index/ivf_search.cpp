// IvfIndex search: coarse probe order, list scans (exact for IVF-Flat,
// lookup tables for IVF-PQ), filter widening, exact rerank.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>

#include "index/filter_planner.h"
#include "index/flat.h"
#include "index/ivf.h"
#include "index/ivf_internal.h"
#include "kernels/distance.h"
#include "kernels/pq.h"
#include "util/per_thread.h"

namespace iqdb::index {
namespace {

// Buffers reused across the searches of one thread.
struct Scratch {
  std::vector<float> query;   // the query in index space (cosine: normalised)
  std::vector<float> coarse;  // distance to each centroid
  std::vector<uint32_t> order;
  std::vector<float> dist;
  std::vector<float> table;
  std::vector<uint8_t> lut;
  std::vector<uint16_t> sums;
  std::vector<uint32_t> masks;
  std::vector<uint32_t> positions;
  std::vector<uint32_t> shortlist;
  std::vector<int16_t> query_codes;  // the query on the coarse codes' grid
  std::vector<uint32_t> nearest;     // lists by code distance
  std::vector<float> exact;          // their exact distances
  std::vector<uint8_t> probed;       // lists a widening search has probed
  ivf::CoarseGraph::Scratch graph;
};

// Bytes of the next list asked for while the current one is scanned.
constexpr size_t kPrefetchBytes = 1024;

Scratch& scratch() { return util::per_thread<Scratch>(); }

template <class T>
T* sized(std::vector<T>& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

// Ranks the lists of an L2 or cosine model for one query (qv, in index
// space). Exact distances decide among the exact_count() lists nearest by
// code (twice the probes, and 16 more); lists further out keep their code
// distance (a filtered search may still widen to them).
//
// rank(): with a coarse graph, only the exact_count() lists a walk finds
// nearest by code are ranked, into s.order[0..returned), with their exact
// distances in `coarse`; otherwise, or when the walk finds too few, every
// list is ranked and the result is n_lists. (A wider walk found the same
// lists on 1M grown Fashion-MNIST rows in 4,000 lists: recall@10 equal at
// 16, 24 and 32 probes.)
// rank_every(): every list's distance into `coarse`, by code where there
// are codes.
struct L2Ranking {
  const ivf::CoarseCodes& codes;
  const ivf::CoarseGraph& graph;
  const float* centroids;
  size_t stride, n_lists;
  const float* qv;
  size_t dim, n_probes;

  size_t exact_count() const { return std::min(n_lists, 2 * n_probes + 16); }

  size_t rank(float* coarse, Scratch& s) const {
    const size_t exact = exact_count();
    if (!graph.empty() && 2 * exact < n_lists && codes.quantize(qv, s.query_codes)) {
      graph.search(codes, s.query_codes.data(), exact, s.graph);
      const auto& found = s.graph.beam;
      if (found.size() == exact) {
        uint32_t* order = sized(s.order, n_lists);
        for (size_t i = 0; i < exact; ++i) order[i] = found[i].second;
        set_exact(order, exact, coarse, s);
        return exact;
      }
    }
    rank_every(coarse, s);
    return n_lists;
  }

  void rank_every(float* coarse, Scratch& s) const {
    const size_t exact = exact_count();
    if (exact == n_lists || !codes.l2_distances(qv, s.query_codes, coarse)) {
      kernels::active_kernels().l2_squared_block(qv, centroids, stride, n_lists, dim, coarse);
      return;
    }
    uint32_t* nearest = sized(s.nearest, n_lists);
    for (size_t l = 0; l < n_lists; ++l) nearest[l] = static_cast<uint32_t>(l);
    std::nth_element(nearest, nearest + exact, nearest + n_lists, [coarse](uint32_t a, uint32_t b) {
      return coarse[a] < coarse[b] || (coarse[a] == coarse[b] && a < b);
    });
    set_exact(nearest, exact, coarse, s);
  }

  // Exact distances of the lists ids[0..n) into `coarse`.
  void set_exact(const uint32_t* ids, size_t n, float* coarse, Scratch& s) const {
    float* d = sized(s.exact, n);
    kernels::active_kernels().l2_squared_gather(qv, centroids, stride, ids, n, dim, d);
    for (size_t i = 0; i < n; ++i) coarse[ids[i]] = d[i];
  }
};

// Lists in order of centroid distance (ties to the lower list), sorted
// lazily: the first `probes` up front, the rest only if a filtered search
// has to widen. When L2Ranking ranked only the nearest lists, a search
// that widens past them ranks every list then and goes on with those it
// has not probed.
class ProbeOrder {
 public:
  // Every list ranked: coarse[l] for each l < n_lists.
  ProbeOrder(Scratch& s, float* coarse, size_t n_lists, size_t probes)
      : ProbeOrder(s, coarse, n_lists, probes, n_lists, nullptr) {}
  // By `ranking`: every list, or the `ranked` it left in s.order.
  ProbeOrder(Scratch& s, float* coarse, size_t n_lists, size_t probes, const L2Ranking& ranking)
      : ProbeOrder(s, coarse, n_lists, probes, ranking.rank(coarse, s), &ranking) {}

  uint32_t operator[](size_t i) {
    if (i >= sorted_) {
      if (i >= ranked_) rank_rest();
      sort(sorted_, ranked_);
    }
    return order_[i];
  }

 private:
  ProbeOrder(Scratch& s, float* coarse, size_t n_lists, size_t probes, size_t ranked,
             const L2Ranking* ranking)
      : s_(s),
        order_(sized(s.order, n_lists)),
        coarse_(coarse),
        n_lists_(n_lists),
        ranked_(ranked),
        ranking_(ranking) {
    if (ranked == n_lists) {
      for (size_t i = 0; i < n_lists; ++i) order_[i] = static_cast<uint32_t>(i);
    }
    sort(0, std::min(probes, ranked));
  }
  void sort(size_t from, size_t to) {
    auto less = [this](uint32_t a, uint32_t b) {
      return coarse_[a] < coarse_[b] || (coarse_[a] == coarse_[b] && a < b);
    };
    std::partial_sort(order_ + from, order_ + to, order_ + ranked_, less);
    sorted_ = to;
  }
  // Ranks every list; those not probed yet follow the probed ones.
  void rank_rest() {
    ranking_->rank_every(coarse_, s_);
    uint8_t* probed = sized(s_.probed, n_lists_);
    std::fill(probed, probed + n_lists_, uint8_t{0});
    for (size_t i = 0; i < ranked_; ++i) probed[order_[i]] = 1;
    size_t m = ranked_;
    for (size_t l = 0; l < n_lists_; ++l) {
      if (!probed[l]) order_[m++] = static_cast<uint32_t>(l);
    }
    ranked_ = n_lists_;
  }

  Scratch& s_;
  uint32_t* order_;
  float* coarse_;
  size_t n_lists_;
  size_t ranked_;
  size_t sorted_ = 0;
  const L2Ranking* ranking_;  // null when every list was ranked
};

// Asks for the first `bytes` of a list's payload ahead of its scan (the
// scan streams on from there).
void prefetch_bytes(const void* p, size_t bytes) {
  const auto* c = static_cast<const char*>(p);
  for (size_t offset = 0; offset < bytes; offset += 64) __builtin_prefetch(c + offset);
}

// Whether a slot filed in a list holds a live row. While every slot below
// slot_end() is live (nothing removed since the slots were last reused), that
// is `slot < slot_end()`, and the byte-per-slot map, a cache miss per
// candidate at a million rows, is not read.
class LiveSlots {
 public:
  explicit LiveSlots(const VectorStore& store)
      : store_(store), end_(store.slot_end()), all_live_(store.size() == end_) {}
  bool operator()(uint32_t slot) const noexcept {
    return all_live_ ? slot < end_ : store_.is_live(slot);
  }

 private:
  const VectorStore& store_;
  uint32_t end_;
  bool all_live_;
};

float inverse_norm(const float* q, size_t dim) {
  const float sq = kernels::active_kernels().squared_norm(q, q, dim);
  return sq > 0 ? 1.0f / std::sqrt(sq) : 0.0f;
}

// The k nearest of n candidates with exact distances, ties on insertion
// order. Insertion sequences live in a large array, one cache miss each:
// they are read only for the candidates at or within the k-th distance, in
// one loop of independent loads.
std::vector<util::Candidate> best_exact(const VectorStore& store, const uint32_t* slots,
                                        const float* dist, size_t n, size_t k, Scratch& s) {
  std::vector<util::Candidate> out;
  if (n == 0 || k == 0) return out;
  float* sorted = sized(s.table, n);
  size_t m = 0;
  for (size_t i = 0; i < n; ++i) {
    if (dist[i] == dist[i]) sorted[m++] = dist[i];  // NaN never ranks
  }
  if (m == 0) return out;
  const size_t kk = std::min(k, m);
  std::nth_element(sorted, sorted + (kk - 1), sorted + m);
  const float kth = sorted[kk - 1];
  for (size_t i = 0; i < n; ++i) {
    if (dist[i] <= kth) out.push_back({dist[i], 0, slots[i]});
  }
  for (util::Candidate& c : out) c.order = store.sequence(c.slot);
  std::sort(out.begin(), out.end());
  if (out.size() > k) out.resize(k);
  return out;
}

// Bytes of each shortlisted row asked for before the exact rerank.
constexpr size_t kRerankPrefetchBytes = 128;

// The k best of a shortlist by the distances `query` scores (the f32 rows
// when the store keeps them, else its codes).
std::vector<util::Candidate> rerank_exact(const QueryScorer& query,
                                          const std::vector<util::Candidate>& found, size_t k,
                                          Scratch& s) {
  const VectorStore& store = query.store();
  const size_t n_found = found.size();
  uint32_t* cand = sized(s.shortlist, n_found);
  for (size_t i = 0; i < n_found; ++i) {
    cand[i] = found[i].slot;
    // The rows are about to be read from memory at random: ask for their
    // first lines now, so the misses overlap.
    prefetch_bytes(store.has_f32_rows() ? static_cast<const void*>(store.row(cand[i]))
                                        : store.code_row(cand[i]),
                   kRerankPrefetchBytes);
  }
  float* exact = sized(s.dist, n_found);
  query.gather(cand, n_found, exact);
  return best_exact(store, cand, exact, n_found, k, s);
}

}  // namespace

std::vector<util::Candidate> IvfIndex::search(const QueryScorer& query, size_t k,
                                              const AnnKnobs& knobs,
                                              const SlotPredicate* filter) const {
  return search(query, k, SearchOptions{knobs.n_probes, 0}, filter);
}

std::vector<util::Candidate> IvfIndex::search(const QueryScorer& query, size_t k,
                                              const SearchOptions& options,
                                              const SlotPredicate* filter) const {
  if (k == 0) return {};
  if (!trained()) return flat_search(query, k, filter);
  const size_t n_probes = std::clamp<size_t>(
      options.n_probes != 0 ? options.n_probes : config_.n_probes, 1, model_->n_lists);
  const size_t refine = options.refine_factor != 0 ? options.refine_factor : config_.refine_factor;
  const bool pq = pq_shape_.num_sub != 0;
  if (filter != nullptr && options_.plan_filters &&
      plan_ivf_scan(count_matches(*store_, *filter), pq ? refine * k : k)) {
    return flat_search(query, k, filter);
  }
  return pq ? search_pq(query, k, n_probes, refine, filter)
            : search_flat(query, k, n_probes, refine, filter);
}

std::vector<util::Candidate> IvfIndex::search_flat(const QueryScorer& query, size_t k,
                                                   size_t n_probes, size_t refine,
                                                   const SlotPredicate* filter) const {
  Scratch& s = scratch();
  const VectorStore& store = *store_;
  const LiveSlots live(store);
  const size_t dim = store.dim(), stride = centroid_stride_, n_lists = model_->n_lists;
  const Metric metric = store.metric();
  const kernels::DistanceKernels& kern = kernels::active_kernels();
  const float* q = query.query();

  // Probe order: cosine compares the normalised query with centroids on
  // the sphere; every other metric uses the query as it is.
  float* coarse = sized(s.coarse, n_lists);
  const float* centroids = model_->centroid(0, stride);
  float inv_q = 0.0f;
  const float* l2_query = nullptr;  // L2 and cosine: ranked by L2Ranking
  switch (metric) {
    case Metric::kCosine: {
      inv_q = inverse_norm(q, dim);
      float* qv = sized(s.query, stride);
      for (size_t d = 0; d < dim; ++d) qv[d] = q[d] * inv_q;
      l2_query = qv;
      break;
    }
    case Metric::kDot:
      kern.dot_block(q, centroids, stride, n_lists, dim, coarse);
      for (size_t l = 0; l < n_lists; ++l) coarse[l] = -coarse[l];
      break;
    case Metric::kL2: l2_query = q; break;
    case Metric::kL1: kern.l1_block(q, centroids, stride, n_lists, dim, coarse); break;
    case Metric::kHamming: kern.hamming_block(q, centroids, stride, n_lists, dim, coarse); break;
  }
  const L2Ranking ranking{model_->coarse, model_->graph, centroids, stride,
                          n_lists,        l2_query,      dim,       n_probes};
  ProbeOrder order = l2_query != nullptr ? ProbeOrder(s, coarse, n_lists, n_probes, ranking)
                                         : ProbeOrder(s, coarse, n_lists, n_probes);

  kernels::BlockFn block = kern.l2_squared_block;
  kernels::GatherFn gather = kern.l2_squared_gather;
  switch (metric) {
    case Metric::kCosine:
    case Metric::kDot:
      block = kern.dot_block;
      gather = kern.dot_gather;
      break;
    case Metric::kL1:
      block = kern.l1_block;
      gather = kern.l1_gather;
      break;
    case Metric::kHamming:
      block = kern.hamming_block;
      gather = kern.hamming_gather;
      break;
    case Metric::kL2: break;
  }
  const ivf::InvertedLists& lists = model_->lists;
  const size_t row_floats = store.stride_floats();
  const float* inv_norms = store.inv_norms();
  // Lists of code rows are scored by the typed kernels. Lossy codes with the
  // f32 rows kept fill a shortlist that is reranked on exact distances.
  const bool code_rows = model_->code_rows;
  const bool rerank = code_rows && !store.codes_are_exact() && store.has_f32_rows();
  std::optional<QueryScorer> own_codes;  // when `query` reads the f32 rows
  const QueryScorer* codes = &query;
  if (code_rows && !query.on_codes()) codes = &own_codes.emplace(store, q, RowSource::kCodes);
  util::TopK top(rerank ? refine * k : k);
  for (size_t p = 0; p < n_lists; ++p) {
    if (p >= n_probes && top.size() >= k) break;  // widen only while short of k
    const uint32_t list = order[p];
    const size_t n = lists.size(list);
    if (n == 0) continue;
    const uint32_t* slots = lists.slots(list);
    const uint8_t* payload = lists.payload(list);
    const auto* rows = reinterpret_cast<const float*>(payload);
    float* dist = sized(s.dist, n);
    const uint32_t* positions = nullptr;
    size_t m = n;
    if (filter != nullptr) {
      uint32_t* pos = sized(s.positions, n);
      m = 0;
      for (size_t e = 0; e < n; ++e) {
        if (filter->matches(slots[e])) pos[m++] = static_cast<uint32_t>(e);
      }
      if (m == 0) continue;
      if (code_rows) {
        codes->raw_code_rows(payload, pos, m, dist);
      } else {
        gather(q, rows, row_floats, pos, m, dim, dist);
      }
      positions = pos;
    } else if (code_rows) {
      codes->raw_code_rows(payload, nullptr, n, dist);
    } else {
      block(q, rows, row_floats, n, dim, dist);
    }
    float threshold = top.threshold();
    for (size_t i = 0; i < m; ++i) {
      const uint32_t slot = slots[positions != nullptr ? positions[i] : i];
      float d = dist[i];
      if (metric == Metric::kCosine) {
        d = kernels::cosine_from_dot(d, inv_q, inv_norms[slot]);
      } else if (metric == Metric::kDot) {
        d = -d;
      }
      // A removed row stays in its list until the write that retired it
      // files it out: only live slots are answers.
      if (d <= threshold && live(slot)) {
        top.push({d, rerank ? slot : store.sequence(slot), slot});
        threshold = top.threshold();
      }
    }
  }
  if (!rerank) return top.take_sorted();
  return rerank_exact(query, top.take_sorted(), k, s);
}

std::vector<util::Candidate> IvfIndex::search_pq(const QueryScorer& query, size_t k,
                                                 size_t n_probes, size_t refine,
                                                 const SlotPredicate* filter) const {
  Scratch& s = scratch();
  const VectorStore& store = *store_;
  const LiveSlots live(store);
  const size_t dim = store.dim(), stride = centroid_stride_, n_lists = model_->n_lists;
  const Metric metric = store.metric();
  const bool dot = metric == Metric::kDot;
  const kernels::DistanceKernels& kern = kernels::active_kernels();
  const kernels::PqKernels& pqk = kernels::active_pq_kernels();
  const ivf::ProductQuantizer& pq = model_->pq;
  const size_t num_sub = pq.num_sub();
  const bool fast_scan = pq.ksub() == kernels::kFs4Ksub;

  // The query in index space, zero-padded to the PQ code dimension.
  const float* q = query.query();
  float* qv = sized(s.query, stride);
  const float scale_q = metric == Metric::kCosine ? inverse_norm(q, dim) : 1.0f;
  for (size_t d = 0; d < dim; ++d) qv[d] = q[d] * scale_q;
  std::fill(qv + dim, qv + stride, 0.0f);

  float* coarse = sized(s.coarse, n_lists);
  const float* centroids = model_->centroid(0, stride);
  if (dot) {
    kern.dot_block(qv, centroids, stride, n_lists, dim, coarse);
    for (size_t l = 0; l < n_lists; ++l) coarse[l] = -coarse[l];
  }
  const L2Ranking ranking{model_->coarse, model_->graph, centroids, stride, n_lists, qv, dim,
                          n_probes};
  ProbeOrder order = dot ? ProbeOrder(s, coarse, n_lists, n_probes)
                         : ProbeOrder(s, coarse, n_lists, n_probes, ranking);

  const size_t m_pad = kernels::fs4_padded_subquantizers(num_sub);
  float* table = sized(s.table, num_sub * pq.ksub());
  uint8_t* lut = fast_scan ? sized(s.lut, m_pad * kernels::kFs4Ksub) : nullptr;
  // Dot products: -q.x = -q.c - q.r, so one table (over q) serves every
  // list and the list adds -q.c, its coarse distance.
  float dot_bias = 0.0f, dot_scale = 1.0f;
  if (dot) {
    pq.neg_dot_table(qv, table);
    if (fast_scan) pqk.fs4_quantize_lut(table, num_sub, m_pad, lut, &dot_bias, &dot_scale);
  }

  const ivf::InvertedLists& lists = model_->lists;
  util::TopK shortlist(refine * k);  // approximate distances; order = slot
  for (size_t p = 0; p < n_lists; ++p) {
    if (p >= n_probes && shortlist.size() >= k) break;  // widen only while short of k
    const uint32_t list = order[p];
    const size_t n = lists.size(list);
    if (n == 0) continue;
    const uint32_t* slots = lists.slots(list);
    const float* center = centroids + size_t{list} * stride;
    if (fast_scan) {
      float bias = dot_bias + coarse[list], scale = dot_scale;
      if (!dot) {
        pqk.fs4_l2_lut(qv, center, num_sub, pq.dsub(), pq.codebooks().data(), m_pad, table, lut,
                       &bias, &scale);
      }
      // An entry can enter the shortlist only if bias + sum / scale <= its
      // threshold: compare the integer sums against that bound. bias alone
      // bounds every entry of the list from below.
      const float inv_scale = 1.0f / scale;
      auto limit_for = [&](float threshold) -> int32_t {
        if (!(threshold < std::numeric_limits<float>::infinity())) return 65535;
        const float x = (threshold - bias) * scale;
        if (!(x >= 0.0f)) return -1;
        return x >= 65535.0f ? 65535 : static_cast<int32_t>(x);
      };
      int32_t limit = limit_for(shortlist.threshold());
      if (limit < 0) continue;  // nothing in this list can enter
      // The slots are read for the candidates after the scan; the next
      // list's first codes are read right after it.
      prefetch_bytes(slots, n * sizeof(uint32_t));
      if (p + 1 < n_probes) prefetch_bytes(lists.payload(order[p + 1]), kPrefetchBytes);
      const size_t n_blocks = (n + kernels::kFs4BlockVectors - 1) / kernels::kFs4BlockVectors;
      uint16_t* sums = sized(s.sums, n_blocks * kernels::kFs4BlockVectors);
      uint32_t* masks = sized(s.masks, n_blocks);
      pqk.fs4_scan(lists.payload(list), n_blocks, m_pad, lut, static_cast<uint16_t>(limit), sums,
                   masks);
      for (size_t b = 0; b < n_blocks && limit >= 0; ++b) {
        uint32_t candidates = masks[b];
        const size_t in_block =
            std::min(kernels::kFs4BlockVectors, n - b * kernels::kFs4BlockVectors);
        if (in_block < 32) candidates &= (uint32_t{1} << in_block) - 1;
        while (candidates != 0) {
          const size_t e =
              b * kernels::kFs4BlockVectors + static_cast<size_t>(std::countr_zero(candidates));
          candidates &= candidates - 1;
          if (static_cast<int32_t>(sums[e]) > limit) continue;  // the bound tightened
          const uint32_t slot = slots[e];
          if (!live(slot) || (filter != nullptr && !filter->matches(slot))) continue;
          shortlist.push({bias + static_cast<float>(sums[e]) * inv_scale, slot, slot});
          if (shortlist.full()) {
            limit = limit_for(shortlist.threshold());
            if (limit < 0) break;
          }
        }
      }
    } else {
      const float bias = dot ? coarse[list] : 0.0f;
      if (!dot) pq.l2_table(qv, center, table);
      float* dist = sized(s.dist, n);
      pqk.pq8_scan(lists.payload(list), n, num_sub, table, dist);
      float threshold = shortlist.threshold();
      for (size_t e = 0; e < n; ++e) {
        const float d = bias + dist[e];
        if (!(d <= threshold)) continue;
        const uint32_t slot = slots[e];
        if (!live(slot) || (filter != nullptr && !filter->matches(slot))) continue;
        shortlist.push({d, slot, slot});
        threshold = shortlist.threshold();
      }
    }
  }

  return rerank_exact(query, shortlist.take_sorted(), k, s);
}

}  // namespace iqdb::index
