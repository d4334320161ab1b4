#include "index/flat_batch.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>

#include "exec/parallel.h"
#include "index/flat.h"
#include "index/flat_batch_bounds.h"
#include "index/scorer.h"
#include "kernels/gemm.h"

namespace iqdb::index {
namespace {

using flat_batch::FilterTerms;
using flat_batch::Form;
using flat_batch::kInf;
using flat_batch::QueryCandidates;
using flat_batch::Survivor;

// Below this many queries a batch cannot fill the kernel's panels: one
// query at a time is as fast.
constexpr size_t kMinBatchQueries = 3;
// Rows per tile: about this many bytes of f32, so a tile stays in L2 while
// every query panel of a block passes over it.
constexpr size_t kTileBytes = size_t{256} << 10;
// Queries per block: bounds a task's per-query state. Rows are read from
// memory once per block.
constexpr size_t kMaxBlockQueries = 2048;

// A panel of packed queries (see kernels/gemm.h) and the query side of the
// kernel's filter (width floats each; unused columns zero).
struct Panel {
  const float* data;
  size_t first_query;  // index into the batch
  size_t queries;
  size_t vectors;
  size_t width;  // vectors * lanes
  std::vector<float> filter_add, filter_mul;
};

struct Block {
  size_t first_panel, end_panel;
  size_t first_query, end_query;
};

// Everything the tasks share, read-only once built.
struct Plan {
  const VectorStore& store;
  const kernels::GemmKernels& gemm;
  Form form;
  size_t dim;
  size_t k;
  const SlotPredicate* predicate;
  bool dense;  // every slot live and wanted
  float margin;
  std::vector<float> query_term;  // per query: |q|^2 (L2, dot) or 1/|q| (cosine)
  std::vector<Panel> panels;
  std::vector<Block> blocks;
  std::vector<uint32_t> part_starts;  // row ranges [part_starts[i], part_starts[i + 1])
  size_t tile_rows = 1;
};

// Per-row terms of a tile: the bounds' (|x|^2 or 1/|x|) and the filter's.
struct RowTerms {
  explicit RowTerms(size_t n) : bound(n), filter_add(n), filter_mul(n) {}
  std::vector<float> bound, filter_add, filter_mul;
};

void fill_row_terms(const Plan& plan, const uint32_t* slots, uint32_t first, size_t n,
                    RowTerms& t) {
  const float* terms = plan.form == Form::kCosine ? plan.store.inv_norms() : plan.store.sq_norms();
  for (size_t r = 0; r < n; ++r) {
    t.bound[r] = terms[slots ? slots[r] : first + static_cast<uint32_t>(r)];
    const FilterTerms f = flat_batch::row_filter_terms(plan.form, t.bound[r], plan.margin);
    t.filter_add[r] = f.add;
    t.filter_mul[r] = f.mul;
  }
}

// Offers every (row, query) pair of a tile whose lower bound is not above
// the query's tau, for the rows the kernel's filter let through.
void offer_tile(const Plan& plan, const Panel& panel, const float* tile, const uint64_t* passing,
                const uint32_t* slots, uint32_t first, size_t n, const RowTerms& terms,
                QueryCandidates* cands, float* tau) {
  for (size_t r = 0; r < n; ++r) {
    const float* dots = tile + r * panel.width;
    const uint32_t slot = slots ? slots[r] : first + static_cast<uint32_t>(r);
    for (uint64_t bits = passing[r]; bits != 0; bits &= bits - 1) {
      const size_t j = static_cast<size_t>(std::countr_zero(bits));
      const auto b = flat_batch::pair_bounds(
          plan.form, dots[j], plan.query_term[panel.first_query + j], terms.bound[r], plan.margin);
      if (b.lower > tau[j]) continue;
      cands[j].offer(b.lower, b.upper, slot);
      tau[j] = cands[j].tau();
    }
  }
}

// One task: the queries of one block against the rows of one part.
void run_task(const Plan& plan, const Block& block, uint32_t row_begin, uint32_t row_end,
              std::vector<QueryCandidates>& cands) {
  const VectorStore& store = plan.store;
  const size_t block_queries = block.end_query - block.first_query;
  cands.assign(block_queries, QueryCandidates(plan.k));
  std::vector<float> tau(block_queries, kInf);
  size_t max_width = 0;
  for (size_t p = block.first_panel; p < block.end_panel; ++p) {
    max_width = std::max(max_width, plan.panels[p].width);
  }
  std::vector<float> tile(plan.tile_rows * max_width);
  std::vector<float> limit(max_width);
  std::vector<uint64_t> passing(plan.tile_rows);
  std::vector<uint32_t> slots(plan.tile_rows);
  RowTerms terms(plan.tile_rows);
  // Stores without f32 rows (u8): each tile decoded once, then shared by
  // every panel.
  const bool decode = !store.has_f32_rows();
  std::vector<float> decoded(decode ? plan.tile_rows * plan.dim : 0);

  for (uint32_t first = row_begin; first < row_end;) {
    const uint32_t span = static_cast<uint32_t>(std::min<size_t>(plan.tile_rows, row_end - first));
    const uint32_t* tile_slots = nullptr;
    size_t n = span;
    if (!plan.dense) {
      n = 0;
      for (uint32_t s = first; s < first + span; ++s) {
        if (store.is_live(s) && (plan.predicate == nullptr || plan.predicate->matches(s))) {
          slots[n++] = s;
        }
      }
      tile_slots = slots.data();
    }
    if (n > 0) {
      fill_row_terms(plan, tile_slots, first, n, terms);
      const float* rows = tile_slots ? store.rows_base() : store.row(first);
      size_t stride = store.stride_floats();
      const uint32_t* kernel_slots = tile_slots;
      if (decode) {
        for (size_t r = 0; r < n; ++r) {
          store.decode_row(tile_slots ? tile_slots[r] : first + static_cast<uint32_t>(r),
                           decoded.data() + r * plan.dim);
        }
        rows = decoded.data();
        stride = plan.dim;
        kernel_slots = nullptr;
      }
      for (size_t p = block.first_panel; p < block.end_panel; ++p) {
        const Panel& panel = plan.panels[p];
        const size_t offset = panel.first_query - block.first_query;
        std::copy(tau.begin() + static_cast<ptrdiff_t>(offset),
                  tau.begin() + static_cast<ptrdiff_t>(offset + panel.queries), limit.begin());
        std::fill(limit.begin() + static_cast<ptrdiff_t>(panel.queries),
                  limit.begin() + static_cast<ptrdiff_t>(panel.width), -kInf);
        const kernels::PanelFilter filter{panel.filter_add.data(), panel.filter_mul.data(),
                                          limit.data(), terms.filter_add.data(),
                                          terms.filter_mul.data()};
        plan.gemm.dot_panel(panel.data, panel.vectors, rows, stride, kernel_slots, n, plan.dim,
                            &filter, tile.data(), passing.data());
        offer_tile(plan, panel, tile.data(), passing.data(), tile_slots, first, n, terms,
                   cands.data() + offset, tau.data() + offset);
      }
    }
    first += span;
  }
}

// The exact k nearest of query q from every part's candidates.
std::vector<util::Candidate> finish_query(const Plan& plan, const float* query,
                                          const std::vector<const QueryCandidates*>& parts) {
  std::vector<float> uppers;
  for (const QueryCandidates* c : parts) {
    uppers.insert(uppers.end(), c->upper_bounds().begin(), c->upper_bounds().end());
  }
  float tau = kInf;
  if (uppers.size() >= plan.k) {
    std::nth_element(uppers.begin(), uppers.begin() + static_cast<ptrdiff_t>(plan.k - 1),
                     uppers.end());
    tau = uppers[plan.k - 1];
  }
  std::vector<uint32_t> slots;
  for (const QueryCandidates* c : parts) {
    for (const Survivor& s : c->survivors()) {
      if (!(s.lower > tau)) slots.push_back(s.slot);
    }
  }
  QueryScorer scorer(plan.store, query);
  std::vector<float> dist(slots.size());
  scorer.gather(slots.data(), slots.size(), dist.data());
  util::TopK top(plan.k);
  for (size_t i = 0; i < slots.size(); ++i) {
    if (dist[i] <= top.threshold()) top.push({dist[i], plan.store.sequence(slots[i]), slots[i]});
  }
  return top.take_sorted();
}

// Runs body(i) for i in [0, n) on at most `threads` threads, each taking the
// next index as it finishes one (the pool may have more workers than the
// caller allows).
void run_limited(size_t n, size_t threads, const std::function<void(size_t)>& body) {
  threads = std::min(threads, n);
  if (threads <= 1) {
    for (size_t i = 0; i < n; ++i) body(i);
    return;
  }
  std::atomic<size_t> next{0};
  exec::parallel_for(0, threads, 1, [&](size_t begin, size_t end) {
    for (size_t lane = begin; lane < end; ++lane) {
      for (size_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) body(i);
    }
  });
}

size_t thread_budget(const BatchOptions& options) {
  const size_t pool = std::max<size_t>(1, exec::concurrency());
  return options.max_threads == 0 ? pool : std::min(options.max_threads, pool);
}

std::vector<std::vector<util::Candidate>> one_at_a_time(const VectorStore& store,
                                                        const float* queries, size_t n_queries,
                                                        size_t k, const SlotPredicate* predicate,
                                                        const BatchOptions& options) {
  std::vector<std::vector<util::Candidate>> out(n_queries);
  run_limited(n_queries, thread_budget(options), [&](size_t q) {
    out[q] = flat_search(QueryScorer(store, queries + q * store.dim()), k, predicate);
  });
  return out;
}

// Whether the expanded form stays finite (with room for the bounds) for
// these queries and rows.
bool expanded_form_is_finite(const Plan& plan, const float* queries, size_t n_queries) {
  const VectorStore& store = plan.store;
  double max_row = 0;
  for (uint32_t s = 0; s < store.slot_end(); ++s) {
    if (store.is_live(s)) max_row = std::max(max_row, double(store.sq_norm(s)));
  }
  double max_query = 0;
  for (size_t q = 0; q < n_queries; ++q) {
    double sum = 0;
    for (size_t i = 0; i < plan.dim; ++i)
      sum += double(queries[q * plan.dim + i]) * queries[q * plan.dim + i];
    max_query = std::max(max_query, sum);
  }
  // (|q| + |x|)^2 bounds every intermediate of either form.
  const double worst = max_query + max_row + 2 * std::sqrt(max_query * max_row);
  return std::isfinite(worst) && worst < double(std::numeric_limits<float>::max()) / 16;
}

// A 64-byte-aligned float buffer.
class AlignedFloats {
 public:
  explicit AlignedFloats(size_t n) : storage_(n + 16) {
    auto address = reinterpret_cast<uintptr_t>(storage_.data());
    data_ = storage_.data() + ((64 - address % 64) % 64) / sizeof(float);
  }
  float* data() noexcept { return data_; }

 private:
  std::vector<float> storage_;
  float* data_;
};

}  // namespace

std::vector<std::vector<util::Candidate>> flat_search_batch(const VectorStore& store,
                                                            const float* queries, size_t n_queries,
                                                            size_t k,
                                                            const SlotPredicate* predicate,
                                                            const BatchOptions& options) {
  const Metric metric = store.metric();
  const bool dot_form =
      metric == Metric::kL2 || metric == Metric::kDot || metric == Metric::kCosine;
  if (n_queries == 0) return {};
  // Lossy codes rank approximately: flat_search's answer (codes, then a
  // rerank when f32 rows are kept) is only reproduced by running it.
  const bool lossy_codes = store.has_codes() && store.storage().lossy();
  if (!dot_form || lossy_codes || n_queries < kMinBatchQueries || k == 0 || store.size() == 0) {
    return one_at_a_time(store, queries, n_queries, k, predicate, options);
  }

  Plan plan{store,
            kernels::active_gemm_kernels(),
            flat_batch::form_of(metric),
            store.dim(),
            k,
            predicate,
            predicate == nullptr && store.size() == store.slot_end(),
            static_cast<float>(flat_batch::margin_factor(store.dim()))};
  if (!expanded_form_is_finite(plan, queries, n_queries)) {
    return one_at_a_time(store, queries, n_queries, k, predicate, options);
  }
  const size_t dim = plan.dim;

  plan.query_term.resize(n_queries);
  for (size_t q = 0; q < n_queries; ++q) {
    if (plan.form == Form::kCosine) {
      // As the exact scorer computes it.
      plan.query_term[q] = QueryScorer(store, queries + q * dim).query_inv_norm();
      continue;
    }
    double sum = 0;
    for (size_t i = 0; i < dim; ++i) sum += double(queries[q * dim + i]) * queries[q * dim + i];
    plan.query_term[q] = static_cast<float>(sum);
  }

  // Panels: full ones of max_panel_vectors vectors, the last one as narrow
  // as its queries allow.
  const kernels::GemmKernels& gemm = plan.gemm;
  const size_t full_width = gemm.max_panel_vectors * gemm.lanes;
  size_t total_floats = 0;
  for (size_t q = 0; q < n_queries; q += full_width) {
    const size_t nq = std::min(full_width, n_queries - q);
    const size_t vectors = (nq + gemm.lanes - 1) / gemm.lanes;
    Panel panel{nullptr, q, nq, vectors, vectors * gemm.lanes, {}, {}};
    panel.filter_add.assign(panel.width, 0.0f);
    panel.filter_mul.assign(panel.width, 0.0f);
    for (size_t j = 0; j < nq; ++j) {
      const FilterTerms f =
          flat_batch::query_filter_terms(plan.form, plan.query_term[q + j], plan.margin);
      panel.filter_add[j] = f.add;
      panel.filter_mul[j] = f.mul;
    }
    plan.panels.push_back(std::move(panel));
    total_floats += dim * vectors * gemm.lanes;
  }
  AlignedFloats packed(total_floats);
  {
    float* next = packed.data();
    for (Panel& p : plan.panels) {
      gemm.pack_queries(queries + p.first_query * dim, dim, p.queries, dim, p.vectors, next);
      p.data = next;
      next += dim * p.width;
    }
  }
  const size_t panels_per_block = std::max<size_t>(1, kMaxBlockQueries / full_width);
  for (size_t p = 0; p < plan.panels.size(); p += panels_per_block) {
    const size_t end = std::min(plan.panels.size(), p + panels_per_block);
    plan.blocks.push_back({p, end, plan.panels[p].first_query,
                           plan.panels[end - 1].first_query + plan.panels[end - 1].queries});
  }

  // Row parts: enough tasks to keep every thread busy, in whole tiles.
  const size_t threads = thread_budget(options);
  const size_t row_bytes =
      (store.has_f32_rows() ? store.stride_floats() : plan.dim) * sizeof(float);
  plan.tile_rows = std::max<size_t>(16, kTileBytes / row_bytes);
  const uint32_t end = store.slot_end();
  const size_t tiles = (end + plan.tile_rows - 1) / plan.tile_rows;
  const size_t want_tasks = threads == 1 ? 1 : 4 * threads;
  const size_t parts = std::clamp<size_t>(
      (want_tasks + plan.blocks.size() - 1) / plan.blocks.size(), 1, std::max<size_t>(1, tiles));
  for (size_t i = 0; i <= parts; ++i) {
    plan.part_starts.push_back(
        static_cast<uint32_t>(std::min<size_t>(end, (tiles * i / parts) * plan.tile_rows)));
  }

  const size_t n_tasks = plan.blocks.size() * parts;
  std::vector<std::vector<QueryCandidates>> results(n_tasks);
  run_limited(n_tasks, threads, [&](size_t task) {
    const size_t b = task / parts, part = task % parts;
    run_task(plan, plan.blocks[b], plan.part_starts[part], plan.part_starts[part + 1],
             results[task]);
  });

  std::vector<std::vector<util::Candidate>> out(n_queries);
  const size_t block_queries = panels_per_block * full_width;
  run_limited(n_queries, threads, [&](size_t q) {
    const size_t b = q / block_queries;
    std::vector<const QueryCandidates*> from_parts(parts);
    for (size_t part = 0; part < parts; ++part) {
      from_parts[part] = &results[b * parts + part][q - plan.blocks[b].first_query];
    }
    out[q] = finish_query(plan, queries + q * dim, from_parts);
  });
  return out;
}

}  // namespace iqdb::index
