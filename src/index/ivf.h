// IvfIndex: an inverted-file index over the slots of a VectorStore:
// IVF-Flat, or IVF-PQ on residuals with 8-bit codes or 4-bit fast-scan
// codes, reranked with exact distances.
//
// Layout. A coarse quantiser (n_lists centroids, one row-major matrix)
// partitions the rows; each list keeps its slots and payloads contiguous
// (ivf_lists.h): the rows themselves for IVF-Flat, PQ codes of the residual
// (row minus centroid) otherwise (ivf_pq.h, kernels/pq.h).
//
// Storage types. IVF-Flat lists hold rows in the store's representation:
// f32 rows for f32 storage, the code rows for every other type (u8, f16,
// bf16, SQ8: a quarter or half the bytes to stream per probe). On u8 rows
// the scan is exact; on lossy codes it keeps refine_factor * k candidates
// and reranks them on the f32 rows when the store keeps them (keep_f32),
// else it ranks on the codes as the flat index does. k-means and PQ train
// on the decoded rows. An SQ8 store learns its codes from its first rows
// (VectorStorage::kSq8TrainingRows): the index trains only once it has.
//
// Metrics. Rows are partitioned by squared L2 for L2, dot and cosine
// (cosine on the rows normalised to unit length, so the partition and the
// PQ codes live on the unit sphere), by L1 for L1 (k-medians) and by
// Hamming distance for Hamming (k-modes). Lists are probed by the metric's
// distance to the centroid (dot: -q.c). PQ approximates squared L2 (L2,
// cosine) or the dot product (dot); it cannot serve L1 or Hamming, which
// check_config() rejects with kUnsupported: use IVF-Flat for them.
//
// Lifecycle. Until enough rows exist (train_threshold()) the index holds
// the slots unclustered and answers by exact scan. Once they do, it trains
// itself (k-means++ seeding and Lloyd iterations on a sample, then PQ
// codebooks on the sample's residuals) and files every row in its list;
// later inserts go to their nearest list. With n_clusters 0 the list count
// is about sqrt(rows) and the index retrains itself whenever the row count
// has grown fourfold since the last training, until its last training used
// a full sample; with a fixed count it does the same while the earlier
// sample was short. optimize() retrains from the current rows (and may
// shrink the list count to rows / 32 on small data; a handful of rows get
// one list). Removes find the slot's list in O(1) and the entry in
// O(list length).
//
// Search. Probes n_probes lists (AnnKnobs::n_probes, else the config's 8)
// in order of centroid distance. Where the f32 centroids outgrow a core's
// cache (Options::coarse_codes_from_bytes; L2 and cosine), their 8-bit codes
// rank every list first and exact distances decide among the nearest
// 2 * n_probes + 16 (ivf_coarse.h). With thousands of lists
// (Options::coarse_graph_from_lists), a walk on a graph over the codes
// finds those nearest lists instead of ranking every one; a filtered search
// that widens past them ranks every list then. IVF-Flat scores entries
// exactly. IVF-PQ scores them from lookup tables (8-bit: float tables; 4-bit: uint8 tables
// held in registers, 32 codes per block through byte shuffles) into a
// shortlist of refine_factor * k, which is reranked with exact distances.
// Results carry exact ranking distances (see QueryScorer).
//
// Only live slots are answers: a row a write has retired but not yet filed
// out of its list is skipped (checked for entries that would be kept).
// Filters are tested while scanning lists (for PQ only on entries that
// would enter the shortlist). When the probed lists hold fewer than k
// matches, further lists are probed in centroid order until k are found or
// every list was scanned; the filter planner (filter_planner.h) counts the
// matches first and answers very selective filters by an exact scan of the
// matching rows.
// Either way a search returns min(k, matching rows) hits.
//
// Thread-safety: search() may run concurrently with other searches. Every
// other method that changes the index (insert, insert_batch, remove,
// update, optimize) needs exclusive access; save() may run concurrently
// with searches. insert_batch() and update() with a Publisher (ann_index.h)
// run alongside searches, one write at a time: each row's list and codes
// are computed, and lists about to overflow copied bigger, alongside
// searches; the exclusive step only swaps those lists in and appends
// (O(rows) appends of at most 256 rows, no allocation, no free). An
// automatic (re)training runs k-means and files every row into a new model
// alongside searches and only swaps it in exclusively.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "iqdb/config.h"
#include "iqdb/status.h"
#include "index/ann_index.h"
#include "index/ivf_kmeans.h"
#include "index/ivf_lists.h"
#include "index/ivf_pq.h"
#include "index/scorer.h"
#include "index/sections.h"
#include "index/slot_predicate.h"
#include "index/vector_store.h"
#include "util/topk.h"

namespace iqdb::index {

class IvfIndex final : public AnnIndex {
 public:
  // Tuning beyond IvfConfig, for tests and benchmarks; defaults suit users.
  struct Options {
    size_t min_train_rows = 0;  // train once this many rows exist; 0: automatic
    size_t kmeans_iterations = 10;
    size_t pq_iterations = 10;
    bool auto_retrain = true;  // retrain as the row count grows (see above)
    bool plan_filters = true;  // may answer selective filters by exact scan
    // Rank lists by 8-bit centroid codes first (ivf_coarse.h) once the f32
    // centroids take this many bytes: about a core's L2 cache, beyond which
    // streaming them costs more than their codes and a few exact rows.
    size_t coarse_codes_from_bytes = size_t{1} << 20;
    // Find the nearest lists by a walk on a graph over those codes
    // (ivf_coarse.h) from this many lists on (and up to
    // CoarseGraph::kMaxNodes): beyond it the walk reads fewer codes than
    // ranking every list does.
    size_t coarse_graph_from_lists = 2048;
  };
  // Per-query knobs; 0 means the configured value.
  struct SearchOptions {
    size_t n_probes = 0;
    size_t refine_factor = 0;
  };

  // OK when the index can serve `config` on dim-dimensional rows under
  // `metric`: kUnsupported for PQ under L1 or Hamming, kInvalidArgument for
  // a PQ shape it cannot build (see pq_shape).
  static Status check_config(const IvfConfig& config, size_t dim, Metric metric);

  // Requires check_config(config, store.dim(), store.metric()).ok();
  // `store` must outlive the index.
  IvfIndex(const VectorStore& store, const IvfConfig& config);
  IvfIndex(const VectorStore& store, const IvfConfig& config, const Options& options);
  IvfIndex(IvfIndex&&) noexcept;
  IvfIndex& operator=(IvfIndex&&) noexcept;
  ~IvfIndex() override;

  // Indexes a live slot of the store (trains first when this insert reaches
  // the threshold). kResourceExhausted when memory runs out.
  Status insert(uint32_t slot) override;
  Status insert_batch(std::span<const uint32_t> slots) override;
  // No-op for a slot the index does not hold.
  void remove(uint32_t slot) override;
  // The slot's vector changed: refiles it.
  Status update(uint32_t slot) override;
  using AnnIndex::insert_batch;
  using AnnIndex::optimize;
  using AnnIndex::remove;
  using AnnIndex::update;
  Status insert_batch(std::span<const uint32_t> slots, Publisher& publisher) override;
  // Refiles alongside searches (file_alongside); the old entry leaves and
  // the new one arrives in the same exclusive step.
  Status update(uint32_t slot, Publisher& publisher) override;
  // Retrains alongside searches; only swapping the new model in is exclusive.
  Status optimize(Publisher& publisher) override;
  // Once trained: the filing of file_alongside(), prepared before the
  // store publishes the rows and committed in the step that does.
  bool prepares_inserts() const noexcept override { return trained(); }
  Result<std::unique_ptr<PreparedInsert>> prepare_insert(std::span<const uint32_t> slots,
                                                         uint32_t slot_end) override;
  void commit_insert(PreparedInsert& prepared) noexcept override;
  Status finish_insert(Publisher& publisher) override;

  std::vector<util::Candidate> search(const QueryScorer& query, size_t k, const AnnKnobs& knobs,
                                      const SlotPredicate* filter) const override;
  std::vector<util::Candidate> search(const QueryScorer& query, size_t k,
                                      const SearchOptions& options,
                                      const SlotPredicate* filter) const;

  // Retrains from the store's live rows (stays untrained with no rows).
  Status optimize() override;

  // Section kinds section::kIvfFirst + 0..5 (see ivf_persist.cpp).
  void save(SectionSink& sink) const override;
  // Validates every structure (kCorruption, never a crash); centroids,
  // slots and payloads are adopted in place. kConfigMismatch when the
  // snapshot's dim, metric or code kind differ.
  static Result<IvfIndex> load(const VectorStore& store, const IvfConfig& config,
                               const SectionSource& source);
  static Result<IvfIndex> load(const VectorStore& store, const IvfConfig& config,
                               const SectionSource& source, const Options& options);

  // Centroids, codebooks, lists and the slot map (not the store's rows).
  size_t memory_bytes() const override;

  // ---- Introspection, for tests and tools.
  bool trained() const noexcept { return model_ != nullptr; }
  // Live rows at which an untrained index trains itself.
  size_t train_threshold() const noexcept;
  size_t n_lists() const noexcept;
  size_t list_size(uint32_t list) const noexcept;
  // The list holding `slot`, or ivf::kNoList (untrained, or not indexed).
  uint32_t list_of(uint32_t slot) const noexcept;
  // Rows held unclustered (untrained index).
  size_t pending_rows() const noexcept { return pending_.size(); }
  // dim floats: a centroid in the space rows are partitioned in (cosine:
  // the unit sphere). Requires trained() and list < n_lists().
  std::span<const float> centroid(uint32_t list) const noexcept;
  // Whether searches rank the lists by 8-bit centroid codes before exact
  // distances (ivf_coarse.h): trained, L2 or cosine, and centroids of at
  // least Options::coarse_codes_from_bytes.
  bool ranks_lists_by_codes() const noexcept;
  // Whether they find the nearest lists by a walk on a graph over those
  // codes (ivf_coarse.h): ranks_lists_by_codes(), and from
  // Options::coarse_graph_from_lists lists on.
  bool ranks_lists_by_graph() const noexcept;
  // Null for IVF-Flat or before training.
  const ivf::ProductQuantizer* quantizer() const noexcept;
  // The PQ codes (num_sub bytes) of an indexed slot; empty when none.
  std::vector<uint8_t> codes(uint32_t slot) const;
  // Writes the row of `slot` as the index sees it (cosine: normalised;
  // zero-padded to vector_floats()) into out.
  void index_vector(uint32_t slot, float* out) const;
  size_t vector_floats() const noexcept { return centroid_stride_; }
  // kCorruption naming the first broken invariant (a live row in no list or
  // two, a list holding a dead slot, a bad slot map).
  Status check() const;

  // What re-deriving every entry from its row finds (see audit()).
  struct Audit {
    size_t entries = 0;      // list entries examined
    size_t misfiled = 0;     // rows in a list whose centroid is not their nearest
    size_t wrong_codes = 0;  // PQ entries with a code that is not its sub-vector's nearest
    size_t wrong_rows = 0;   // IVF-Flat entries whose payload differs from the row
    uint32_t first_bad_slot = kNoSlot;
  };
  // Re-encodes every entry from the store's row: assigns it to its nearest
  // centroid and, for PQ, encodes its residual, then compares with what the
  // lists hold. A differing choice counts only when it is worse by more
  // than float rounding (kernels on different CPUs may break near-ties
  // differently). IVF-Flat payloads must equal the rows byte for byte.
  // Cost: one assignment and one encoding per row. Requires check().ok().
  Audit audit() const;

 private:
  enum class Codes : uint8_t { kFlat = 0, kPq8 = 1, kFs4 = 2 };
  struct Model;

  Codes codes_kind() const noexcept;
  // The list layout; `code_rows`: IVF-Flat lists hold the store's code rows.
  ivf::PayloadLayout payload_layout(bool code_rows) const noexcept;
  // Whether IVF-Flat lists trained now would hold code rows.
  bool flat_code_rows() const noexcept;
  // False while an SQ8 store has not learnt its codes (training waits).
  bool store_ready() const noexcept;
  size_t lists_for(size_t rows) const noexcept;
  // Derives the norms and (when they pay) the coarse codes of a model's
  // freshly trained or loaded centroids.
  void derive_from_centroids(Model& model) const;
  size_t sample_target(size_t rows) const noexcept;
  bool wants_retrain() const noexcept;
  Status train();
  struct Training;
  // train() in two halves: the model built from the store's live rows
  // (const: may run alongside searches), then swapped in (exclusive).
  Status prepare_training(Training& out) const;
  void install(Training& t);
  // prepare_training beside searches, then install in one exclusive step.
  Status train_alongside(Publisher& publisher);
  Status add_rows(Model& model, std::span<const uint32_t> slots) const;
  // add_rows() in two halves, for filing alongside searches.
  struct Filing;
  // kInvalidArgument unless every slot is (`filed`) or is not in a list.
  Status check_filed(const Model& model, std::span<const uint32_t> slots, bool filed) const;
  Status encode_rows(const Model& model, std::span<const uint32_t> slots, Filing& out) const;
  // The list entry of row i of `slots`: its codes, or its row (IVF-Flat).
  const uint8_t* entry(const Model& model, const Filing& filing, std::span<const uint32_t> slots,
                       size_t i) const noexcept;
  // Files `slots` (or with `refile`, moves each to where its new vector
  // belongs) with searches running: the lists and codes are computed, and
  // lists about to overflow copied bigger, alongside them; one exclusive
  // step then swaps the bigger lists in and appends, O(slots + lists grown).
  Status file_alongside(std::span<const uint32_t> slots, bool refile, Publisher& publisher);
  // file_alongside() in two halves: prepared alongside searches (the slot
  // map sized for `slot_end`), committed in an exclusive step.
  struct PreparedFiling;
  Status prepare_filing(std::span<const uint32_t> slots, bool refile, uint32_t slot_end,
                        PreparedFiling& out) const;
  void commit_filing(PreparedFiling& prepared) noexcept;
  Status insert_trained(std::span<const uint32_t> slots);

  std::vector<util::Candidate> search_flat(const QueryScorer& query, size_t k, size_t n_probes,
                                           size_t refine, const SlotPredicate* filter) const;
  std::vector<util::Candidate> search_pq(const QueryScorer& query, size_t k, size_t n_probes,
                                         size_t refine, const SlotPredicate* filter) const;

  const VectorStore* store_;
  IvfConfig config_;
  Options options_;
  ivf::PartitionDistance partition_;
  ivf::PqShape pq_shape_;          // num_sub 0 for IVF-Flat
  size_t centroid_stride_;         // floats per centroid (>= dim and PQ code_dim)
  std::unique_ptr<Model> model_;   // null until trained
  std::vector<uint32_t> pending_;  // slots held while untrained
  uint64_t trained_rows_ = 0;      // live rows at the last training
};

}  // namespace iqdb::index
