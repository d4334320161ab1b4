// Batched exact search: many queries against every live row at once.
//
// The answer for each query is exactly flat_search's: the same slots, in the
// same order, with the same ranking distances (ties broken on insertion
// order). The work is different. For L2, dot and cosine, a block of queries
// is scored against a tile of rows with the register-blocked dot-product
// kernel of kernels/gemm.h (L2 as |q|^2 + |x|^2 - 2 q.x from precomputed
// squared norms), which keeps the FMA units busy instead of waiting on
// memory. That expanded form rounds differently from flat_search's
// sum of squared differences, so every row gets an interval [lower, upper]
// that provably holds both values (a bound from the float rounding model,
// proportional to dim * 2^-24 * the norms). A row stays a candidate while its
// lower bound is no worse than the k-th best upper bound seen; the few
// survivors are then scored with QueryScorer::gather, the same
// position-independent arithmetic flat_search uses, and ranked exactly.
//
// u8 rows (exact, no f32 copy) are decoded to f32 one tile at a time and
// take the same path. L1 and Hamming have no dot-product form: they run
// flat_search per query, in parallel. So do lossy stores (f16, bf16, SQ8:
// their answer is defined by flat_search's code scan and rerank), batches
// too small to fill a panel of the kernel, and stores whose norms are too
// large for the expanded form to stay finite.
//
// Work is split into (query block x row range) tasks on the TBB pool
// (exec::parallel_for); each task keeps its own per-query candidates, merged
// at the end.
//
// Thread-safety: read-only over the store; callers hold the database's
// shared lock. The predicate must be safe to call from many threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "index/slot_predicate.h"
#include "index/vector_store.h"
#include "util/topk.h"

namespace iqdb::index {

struct BatchOptions {
  // Threads to use at most; 0: every worker of the pool.
  size_t max_threads = 0;
};

// For each of the `n_queries` queries (row-major, store.dim() floats each),
// the k nearest live rows satisfying `predicate` (null: all), nearest first,
// with ranking distances — exactly flat_search(QueryScorer(store, q), k,
// predicate) for each q.
std::vector<std::vector<util::Candidate>> flat_search_batch(const VectorStore& store,
                                                            const float* queries, size_t n_queries,
                                                            size_t k,
                                                            const SlotPredicate* predicate,
                                                            const BatchOptions& options = {});

}  // namespace iqdb::index
