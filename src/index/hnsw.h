// HnswIndex: a Hierarchical Navigable Small World graph (Malkov & Yashunin)
// over the slots of a VectorStore, with the neighbour-selection heuristic.
//
// Vectors are never copied from the store. Over an f32 store, for every
// metric but Hamming, the index also keeps an 8-bit copy (Sq8Codes, trained
// once enough rows exist) and walks the graph on it; each search reranks
// what rounding cannot rule out with exact f32 distances, so results carry
// exact ranking distances (see QueryScorer). A u8 store's rows are walked
// directly by the same integer kernels (L2, L1); other stores that keep
// codes (f16, bf16, SQ8) are walked on their codes through QueryScorer and
// rescored on f32 rows when those are kept.
// The graph layout is described in hnsw_graph.h, the snapshot format in
// hnsw_persist.cpp.
//
// Filters: the predicate is tested while walking (non-matching nodes are
// walked through, not returned) until ef matches are found or the frontier
// is exhausted. The filter planner (filter_planner.h) first counts the
// matches and scans the matching rows exactly when that is cheaper, and a
// walk that finds fewer than k matches falls back to the exact scan: a
// search returns min(k, matching rows) hits.
//
// Deletes repair the graph: every node that linked to a removed node is
// relinked among its remaining neighbours and the removed node's neighbours
// (selection heuristic, topped up to M links), nodes left without in-links
// are reconnected, the entry point moves if needed, and the slot is freed
// for reuse (see hnsw_remove.cpp).
//
// Thread-safety: search() may run concurrently with other searches and
// with insert()/insert_batch(); insert() calls may run concurrently with
// each other (per-node seqlocks). remove(), update(), optimize() and save()
// need exclusive access (no concurrent call of any other method).
// With a Publisher (ann_index.h), update() and remove() also run alongside
// searches, one write at a time: the relinking and the repair of the
// neighbours of a removed node go through the per-node seqlocks like an
// insert; only re-encoding a replaced row's SQ8 codes and freeing a removed
// node (its lists and upper block, which a search that reached it may still
// read) are exclusive steps, each O(M * level) or one code row. The
// reachability repair an insert or remove may run works the same way. Builds are deterministic for
// a fixed seed when inserts run one at a time in the same order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "iqdb/config.h"
#include "iqdb/status.h"
#include "index/ann_index.h"
#include "index/scorer.h"
#include "index/sections.h"
#include "index/slot_predicate.h"
#include "index/vector_store.h"
#include "util/topk.h"

namespace iqdb::index {

namespace hnsw {
class HnswGraph;
class Sq8Codes;
struct Cand;
class PairFrom;
struct Scratch;
}  // namespace hnsw

class HnswIndex final : public AnnIndex {
 public:
  // Tuning beyond HnswConfig, for tests and benchmarks; defaults suit users.
  struct Options {
    bool sq8 = true;             // walk on 8-bit codes: own (f32 store) or a u8 store's
    size_t sq8_min_rows = 1024;  // train the own codes once this many rows are indexed
    size_t rerank = 0;           // beam entries rescored; 0: those rounding can't rule out
    bool plan_filters = true;    // may answer selective filters by exact scan
    // A filter that knows its exact set always walks the matching subgraph
    // (no planning), so tests reach that walk at any selectivity.
    bool subgraph_walk = false;
  };

  // `store` must outlive the index. config.m must be in [2, 256].
  HnswIndex(const VectorStore& store, const HnswConfig& config);
  HnswIndex(const VectorStore& store, const HnswConfig& config, const Options& options);
  HnswIndex(HnswIndex&&) noexcept;
  HnswIndex& operator=(HnswIndex&&) noexcept;
  ~HnswIndex() override;

  // Links a slot already written to the store. kInvalidArgument if it is
  // already in the graph; kResourceExhausted when memory runs out.
  Status insert(uint32_t slot) override;
  // insert() of every slot, in parallel (exec::parallel_for).
  Status insert_batch(std::span<const uint32_t> slots) override;
  // Unlinks the slot, repairs its neighbours and frees the node. The store
  // row may already be marked removed but must still hold the vector.
  // No-op for a slot not in the graph. Costs one pass over the lists
  // (links are one-way): O(nodes * M), about 1 ms per 60k nodes.
  void remove(uint32_t slot) override;
  // The vector of an indexed slot changed in place: relinks it (inserts it
  // when it is not in the graph).
  Status update(uint32_t slot) override;

  // Alongside searches (see the thread-safety note above).
  using AnnIndex::insert_batch;
  using AnnIndex::optimize;
  using AnnIndex::remove;
  using AnnIndex::update;
  Status insert_batch(std::span<const uint32_t> slots, Publisher& publisher) override;
  // The reachability repair runs alongside searches; retrained SQ8 codes
  // are built aside and swapped in with one exclusive step.
  Status optimize(Publisher& publisher) override;
  Status update(uint32_t slot, Publisher& publisher) override;
  void remove(uint32_t slot, Publisher& publisher) override;
  // One unlink() for the whole set: its pass over every list is paid once.
  void remove_batch(std::span<const uint32_t> slots, Publisher& publisher) override;

  // The k nearest live slots (matching `filter` if given), nearest first,
  // ties on insertion order; ranking distances. ef 0: config.ef_search.
  std::vector<util::Candidate> search(const QueryScorer& query, size_t k, size_t ef,
                                      const SlotPredicate* filter) const;
  std::vector<util::Candidate> search(const QueryScorer& query, size_t k, const AnnKnobs& knobs,
                                      const SlotPredicate* filter) const override;
  // The exact k nearest live slots matching `filter` (every live slot when
  // null), by a scan of them: on the SQ8 codes where their error bounds
  // allow, see hnsw_scan.cpp. Filtered searches answer through it when the
  // planner or a failed walk chooses the scan.
  std::vector<util::Candidate> scan_matches(const QueryScorer& query, size_t k,
                                            const SlotPredicate* filter) const;

  // Refits the SQ8 grid to the current rows and re-encodes them.
  Status optimize() override;

  // Section kinds section::kHnswFirst + 0..5 (see hnsw_persist.cpp).
  void save(SectionSink& sink) const override;
  // Validates every structure (kCorruption, never a crash); the level-0
  // links, node table, upper links and codes are adopted in place.
  // kConfigMismatch when m, dim or metric differ from the snapshot's.
  static Result<HnswIndex> load(const VectorStore& store, const HnswConfig& config,
                                const SectionSource& source);
  static Result<HnswIndex> load(const VectorStore& store, const HnswConfig& config,
                                const SectionSource& source, const Options& options);

  // Graph (and SQ8 code) bytes.
  size_t memory_bytes() const override;

  // ---- Introspection, for tests and tools.
  size_t size() const noexcept;  // nodes in the graph
  bool contains(uint32_t slot) const noexcept;
  uint32_t level(uint32_t slot) const noexcept;  // requires contains(slot)
  // kNoSlot when the graph is empty.
  uint32_t entry_point() const noexcept;
  std::vector<uint32_t> neighbors(uint32_t slot, uint32_t level) const;
  // Whether walks run on 8-bit codes with the integer kernels: the index's
  // own trained SQ8 copy (f32 store), or a u8 store's rows (L2, L1).
  bool uses_sq8() const noexcept;
  // Nodes a search cannot reach: not found by following level-0 links from
  // the entry point. O(nodes * M).
  size_t unreachable() const;
  // Links every unreachable node from its nearest reachable neighbours
  // (HNSW's neighbour pruning can drop a node's last in-link), and gives
  // nodes with a single in-link a second one from their nearest nodes. Runs
  // in optimize() and once every max(256, size()/64) inserted or removed
  // nodes, counting batches by their size (so between passes a few nodes may
  // be unreachable for a while); returns how many nodes it relinked.
  size_t repair_reachability();
  // kCorruption naming the first broken invariant: links to absent nodes,
  // self links, over-full lists, an entry point that is not a top node.
  Status check() const;

 private:
  struct Sync;
  enum class Rerank : uint8_t {
    kNone,        // the walk's distances are the query scorer's
    kAll,         // rescore everything found with the query scorer
    kSq8Bounded,  // rescore what the SQ8 rounding radii cannot rule out
  };

  struct EntryPoint {
    uint32_t slot;
    uint32_t level;
  };

  EntryPoint entry() const noexcept;
  void set_entry(uint32_t slot, uint32_t level) noexcept;
  void clear_entry() noexcept;
  uint32_t random_level(uint32_t slot) const noexcept;
  Status ensure_capacity(uint32_t slots);
  Status insert_shared(uint32_t slot);
  Status train_codes(std::span<const uint32_t> extra);
  // The sample train_codes() fits the grid on, and the nodes in the graph.
  void training_sample(std::span<const uint32_t> extra, std::vector<uint32_t>& present,
                       std::vector<uint32_t>& sample) const;
  bool wants_training(size_t incoming) const noexcept;
  // Whether this index keeps SQ8 codes of its own: the option is on, the
  // metric allows it and the store holds f32 rows only (a store with codes
  // is walked on its codes instead).
  bool own_codes() const noexcept;
  // Writes the slot's own SQ8 codes, when the index keeps trained ones.
  void encode_codes(uint32_t slot) noexcept;
  template <class Space>
  void connect(uint32_t slot, uint32_t level, EntryPoint ep, const Space& space, hnsw::Scratch& s);
  void select_neighbors(std::span<const hnsw::Cand> candidates, size_t max_count,
                        std::vector<uint32_t>& out) const;
  bool add_link(uint32_t from, uint32_t to, uint32_t level, float dist, hnsw::Scratch& s);
  void force_link(uint32_t from, uint32_t to, uint32_t level, hnsw::Scratch& s);
  void link_back(uint32_t slot, uint32_t level, std::span<const hnsw::Cand> found,
                 std::span<const uint32_t> selected, hnsw::Scratch& s);
  // The codes walks run on (own and trained, or a u8 store's borrowed);
  // null when walks go through QueryScorer (store codes or f32 rows).
  const hnsw::Sq8Codes* walk_codes() const noexcept;
  // Whether scan_matches() scores the codes (they bound the true distances).
  bool scans_codes() const noexcept;
  // What unlink() does with the nodes it takes out: kFree releases them
  // (exclusive access); kDetach moves the entry point off them and leaves
  // them, still holding their own lists, for release_detached().
  enum class Unlink : uint8_t { kFree, kDetach };
  void unlink(std::span<const uint32_t> slots, Unlink mode);
  // Frees a node unlink(kDetach) left behind. Exclusive access.
  void release_detached(uint32_t slot) noexcept;
  // update() after the codes were re-encoded: links the slot at its new
  // place, then repair_around() each level it had links on.
  void relink(uint32_t slot, bool sq8);
  // After `slot` moved, on one level, with `old` its list before: the old
  // neighbours that linked to it re-select their lists (their links and
  // `old`, the node at its new place among them), and an old neighbour it
  // no longer links to that no nearby node links to is reconnected. Local:
  // in-links from farther nodes stay, pointing at the node's new place, and
  // maybe_repair() catches what the local checks miss.
  void repair_around(uint32_t slot, uint32_t level, std::span<const uint32_t> old);
  // Writes y's list on `level` from `candidates` (slots; repeats allowed):
  // the selection heuristic, topped up with the nearest to at least M.
  void reselect(uint32_t y, uint32_t level, std::vector<hnsw::Cand>& candidates,
                hnsw::PairFrom& distance_from, std::vector<uint32_t>& selected);
  void reconnect(uint32_t slot, uint32_t level);
  // Level-0 nodes not reached from the entry point, ascending.
  std::vector<uint32_t> unreached_nodes() const;
  // Counts `writes` and repairs once enough have accumulated.
  void maybe_repair(size_t writes = 1);
  void level0_indegree(std::vector<uint32_t>& indegree) const;
  void relink_unreached(uint32_t slot, std::vector<uint32_t>& indegree);
  template <class Space>
  std::vector<util::Candidate> search_in(const Space& space, const QueryScorer& query, size_t k,
                                         size_t ef, const SlotPredicate* filter, Rerank mode,
                                         float query_radius, size_t expansion_budget) const;
  // Whether `slot` or a node within two level-0 links of it is in `matching`.
  bool near_match(uint32_t slot, const util::Bitmap& matching, hnsw::Scratch& s) const;
  // The filtered search on the subgraph of `matching` (the filter's exact
  // set, of `total` members), from the entry point and seeds spread over
  // the set.
  template <class Space>
  std::vector<util::Candidate> search_subgraph_in(const Space& space, const QueryScorer& query,
                                                  size_t k, size_t ef, const SlotPredicate& filter,
                                                  const util::Bitmap& matching, size_t total,
                                                  Rerank mode, float query_radius) const;
  std::vector<util::Candidate> rerank(const QueryScorer& query, std::span<const hnsw::Cand> found,
                                      size_t k, Rerank mode, float query_radius) const;

  const VectorStore* store_;
  HnswConfig config_;
  Options options_;
  double level_mult_;
  std::unique_ptr<hnsw::HnswGraph> graph_;
  std::unique_ptr<hnsw::Sq8Codes> codes_;
  std::unique_ptr<Sync> sync_;
};

}  // namespace iqdb::index
