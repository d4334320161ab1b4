// Construction-time configuration of a database: shape, index and knobs.
//
// Every knob has a default; set the ones you care about with the fluent
// with_* setters. A knob left at 0 means "let iqdb choose".
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "iqdb/export.h"
#include "iqdb/types.h"

namespace iqdb {

class Filter;

// Exact brute-force search. The recall ground truth; no knobs.
struct FlatConfig {
  friend bool operator==(const FlatConfig&, const FlatConfig&) = default;
};

// Hierarchical Navigable Small World graph (approximate).
struct HnswConfig {
  size_t m = 16;                 // links per node on upper levels; 2m on level 0
  size_t ef_construction = 200;  // beam width while inserting
  size_t ef_search = 64;         // default beam width while searching
  uint64_t seed = 0x5EED;        // level generator seed (deterministic builds)
  // f32 rows: walk the graph on an 8-bit copy of the rows (1 byte per
  // dimension more memory and faster walks, the shortlist reranked on the
  // f32 rows), or, when false, on the f32 rows themselves (graph + rows
  // only: the memory of hnswlib's layout).
  // Other storage types walk their own rows either way.
  bool quantized_walk = true;

  HnswConfig& with_m(size_t v) {
    m = v;
    return *this;
  }
  HnswConfig& with_ef_construction(size_t v) {
    ef_construction = v;
    return *this;
  }
  HnswConfig& with_ef_search(size_t v) {
    ef_search = v;
    return *this;
  }
  HnswConfig& with_seed(uint64_t v) {
    seed = v;
    return *this;
  }
  HnswConfig& with_quantized_walk(bool v) {
    quantized_walk = v;
    return *this;
  }
  friend bool operator==(const HnswConfig&, const HnswConfig&) = default;
};

// Inverted-file index (approximate): IVF-Flat or IVF-PQ.
struct IvfConfig {
  enum class Pq : uint8_t { kNone = 0, k8Bit = 1, k4BitFastScan = 2 };
  size_t n_clusters = 0;            // 0: about sqrt(rows)
  size_t n_probes = 8;              // lists scanned per query
  size_t training_sample_size = 0;  // 0: 256 rows per cluster
  Pq pq = Pq::kNone;
  size_t pq_subvectors = 0;  // 0: dim / 2 (4-bit) or dim / 4 (8-bit)
  size_t refine_factor = 4;  // rerank refine_factor * k with exact distances
  uint64_t seed = 0x5EED;

  IvfConfig& with_n_clusters(size_t v) {
    n_clusters = v;
    return *this;
  }
  IvfConfig& with_n_probes(size_t v) {
    n_probes = v;
    return *this;
  }
  IvfConfig& with_training_sample_size(size_t v) {
    training_sample_size = v;
    return *this;
  }
  IvfConfig& with_pq(Pq v) {
    pq = v;
    return *this;
  }
  IvfConfig& with_pq_subvectors(size_t v) {
    pq_subvectors = v;
    return *this;
  }
  IvfConfig& with_refine_factor(size_t v) {
    refine_factor = v;
    return *this;
  }
  IvfConfig& with_seed(uint64_t v) {
    seed = v;
    return *this;
  }
  friend bool operator==(const IvfConfig&, const IvfConfig&) = default;
};

// Which index backs a database. Defaults to Flat.
class IndexKind {
 public:
  IndexKind() = default;
  IndexKind(FlatConfig c) : v_(c) {}  // NOLINT: implicit by design
  IndexKind(HnswConfig c) : v_(c) {}  // NOLINT
  IndexKind(IvfConfig c) : v_(c) {}   // NOLINT

  bool is_flat() const noexcept { return std::holds_alternative<FlatConfig>(v_); }
  bool is_hnsw() const noexcept { return std::holds_alternative<HnswConfig>(v_); }
  bool is_ivf() const noexcept { return std::holds_alternative<IvfConfig>(v_); }
  // Each requires the matching is_*().
  const HnswConfig& hnsw() const { return std::get<HnswConfig>(v_); }
  const IvfConfig& ivf() const { return std::get<IvfConfig>(v_); }
  // "flat", "hnsw" or "ivf".
  const char* name() const noexcept { return is_flat() ? "flat" : is_hnsw() ? "hnsw" : "ivf"; }
  friend bool operator==(const IndexKind&, const IndexKind&) = default;

 private:
  std::variant<FlatConfig, HnswConfig, IvfConfig> v_;
};

// Result cache (see Database::cache_stats). Capacity 0 disables it.
struct CacheConfig {
  enum class Policy : uint8_t { kLru, kLfu, kFifo };
  size_t capacity = 0;
  Policy policy = Policy::kLru;
  std::chrono::milliseconds ttl{0};  // 0: entries never expire by age

  CacheConfig& with_capacity(size_t v) {
    capacity = v;
    return *this;
  }
  CacheConfig& with_policy(Policy v) {
    policy = v;
    return *this;
  }
  CacheConfig& with_ttl(std::chrono::milliseconds v) {
    ttl = v;
    return *this;
  }
};

struct CacheStats {
  uint64_t hits = 0, misses = 0, evictions = 0;
  size_t length = 0, capacity = 0;
  double hit_rate() const { return hits + misses ? double(hits) / double(hits + misses) : 0.0; }
};

// When the write-ahead log is forced to stable storage. Ignored in memory.
class FsyncPolicy {
 public:
  enum class Kind : uint8_t { kAlways, kPeriodic, kNever };
  // Acknowledge a write only after the fsync that covers it (default).
  static FsyncPolicy always() { return FsyncPolicy(Kind::kAlways, {}); }
  // fsync at least every `interval`; a power failure can lose that much.
  static FsyncPolicy periodic(std::chrono::milliseconds interval) {
    return FsyncPolicy(Kind::kPeriodic, interval);
  }
  // Leave it to the OS; a power failure can lose any unsynced write.
  static FsyncPolicy never() { return FsyncPolicy(Kind::kNever, {}); }

  FsyncPolicy() = default;
  Kind kind() const noexcept { return kind_; }
  std::chrono::milliseconds interval() const noexcept { return interval_; }

 private:
  FsyncPolicy(Kind k, std::chrono::milliseconds i) : kind_(k), interval_(i) {}
  Kind kind_ = Kind::kAlways;
  std::chrono::milliseconds interval_{0};
};

// Snapshot section compression. Ignored in memory.
class Compression {
 public:
  enum class Kind : uint8_t { kNone = 0, kZstd = 1, kLz4 = 2 };
  static Compression none() { return Compression(Kind::kNone, 0); }
  static Compression zstd(int level = 3) { return Compression(Kind::kZstd, level); }
  static Compression lz4() { return Compression(Kind::kLz4, 0); }

  Compression() = default;
  Kind kind() const noexcept { return kind_; }
  int level() const noexcept { return level_; }

 private:
  Compression(Kind k, int level) : kind_(k), level_(level) {}
  Kind kind_ = Kind::kNone;
  int level_ = 0;
};

// How the vector store keeps each row. Every type scores against f32
// queries with SIMD kernels; bytes per value in brackets.
enum class StorageType : uint8_t {
  kF32 = 0,   // [4] exact (default)
  kF16 = 1,   // [2] IEEE half: ~3 significant digits; |values| must be <= 65504
  kBF16 = 2,  // [2] bfloat16: ~2-3 significant digits, f32's range
  kSq8 = 3,   // [1] per-dimension offset + scale * code, code 0..255 (see below)
  kU8 = 4,    // [1] exact for whole numbers 0..255 (images); any other value
              //     is rejected with kInvalidArgument (-0 reads back as +0)
};

// Storage of the rows (Config::storage). f32 and u8 are exact. f16, bf16 and
// SQ8 are lossy: searches score the compact codes, and when keep_f32 is set
// the f32 rows are kept as well, so the nearest candidates are reranked on
// exact distances and get() returns exactly the floats written (at 4 extra
// bytes per value).
//
// What Database::get returns:
//   kF32, kU8:              exactly the floats written;
//   lossy with keep_f32:    exactly the floats written;
//   lossy without keep_f32: the decoded approximation: the value rounded to
//                           the nearest f16/bf16, or offset + scale * code.
//
// SQ8 learns each dimension's offset (minimum) and scale ((maximum -
// minimum) / 255) from the first kSq8TrainingRows rows, which are kept in
// f32 until then; later values outside a dimension's range clamp to it.
struct VectorStorage {
  StorageType type = StorageType::kF32;
  bool keep_f32 = false;  // lossy types only; ignored for kF32 and kU8

  static constexpr size_t kSq8TrainingRows = 1024;

  static VectorStorage f32() { return {StorageType::kF32, false}; }
  static VectorStorage f16(bool keep_f32 = false) { return {StorageType::kF16, keep_f32}; }
  static VectorStorage bf16(bool keep_f32 = false) { return {StorageType::kBF16, keep_f32}; }
  static VectorStorage sq8(bool keep_f32 = false) { return {StorageType::kSq8, keep_f32}; }
  static VectorStorage u8() { return {StorageType::kU8, false}; }

  bool lossy() const noexcept {
    return type == StorageType::kF16 || type == StorageType::kBF16 || type == StorageType::kSq8;
  }
  VectorStorage& with_keep_f32(bool v) {
    keep_f32 = v;
    return *this;
  }
  friend bool operator==(const VectorStorage& a, const VectorStorage& b) {
    return a.type == b.type && (a.keep_f32 == b.keep_f32 || !a.lossy());
  }
};

// "f32", "f16", "bf16", "sq8" or "u8".
inline const char* storage_type_name(StorageType t) {
  switch (t) {
    case StorageType::kF32: return "f32";
    case StorageType::kF16: return "f16";
    case StorageType::kBF16: return "bf16";
    case StorageType::kSq8: return "sq8";
    case StorageType::kU8: return "u8";
  }
  return "?";
}

class IQDB_EXPORT Config {
 public:
  Config(size_t dim, Metric metric) : dim_(dim), metric_(metric) {}

  Config& index(IndexKind kind) {
    index_ = kind;
    return *this;
  }
  Config& cache(CacheConfig cache) {
    cache_ = cache;
    return *this;
  }
  Config& fsync(FsyncPolicy policy) {
    fsync_ = policy;
    return *this;
  }
  Config& compression(Compression c) {
    compression_ = c;
    return *this;
  }
  // Row storage type (default f32); see VectorStorage.
  Config& storage(VectorStorage s) {
    storage_ = s;
    return *this;
  }
  // The metadata fields the payload index holds, so that filters on them
  // are answered from sets of matching rows instead of testing each row.
  // Empty (the default): every field with at most 4,096 distinct values
  // (a field that grows past that is tested row by row). Declared: exactly
  // these fields, whatever their number of values; filters on any other
  // field test each row. The snapshot records the rule its index was built
  // under: opening with the same rule reuses it, with another rebuilds it
  // from the records; Database::open(path, OpenOptions) keeps the file's.
  Config& indexed_fields(std::vector<std::string> fields) {
    indexed_fields_ = std::move(fields);
    return *this;
  }
  // At most this many threads do the index work of writes at once: graph
  // inserts and relinking, list filing and encoding, batch builds, the
  // repair and retraining of optimize(). 0 (the default): every hardware
  // thread, the fastest bulk load. A service that searches while it writes
  // batches sets one fewer than its hardware threads, so searches keep a
  // core. Not stored in the file.
  Config& write_threads(size_t n) {
    write_threads_ = n;
    return *this;
  }
  // Opening an existing file: copy its sections into the database's own
  // memory (2 MiB huge pages where the OS gives them) instead of mapping
  // them in place. Searches then take far fewer TLB misses than on the
  // file's 4 KiB pages (a large graph walks noticeably faster), at the price
  // of reading the whole snapshot at open and holding a private copy of it:
  // read-only handles in other processes no longer share those pages.
  // False (the default): map. Compressed sections are copied either way.
  // Not stored in the file.
  Config& load_into_memory(bool v) {
    load_into_memory_ = v;
    return *this;
  }

  // Each getter carries its setter's name.
  size_t dim() const noexcept { return dim_; }
  Metric metric() const noexcept { return metric_; }
  const IndexKind& index() const noexcept { return index_; }
  const CacheConfig& cache() const noexcept { return cache_; }
  const FsyncPolicy& fsync() const noexcept { return fsync_; }
  const Compression& compression() const noexcept { return compression_; }
  const VectorStorage& storage() const noexcept { return storage_; }
  const std::vector<std::string>& indexed_fields() const noexcept { return indexed_fields_; }
  size_t write_threads() const noexcept { return write_threads_; }
  bool load_into_memory() const noexcept { return load_into_memory_; }
  bool is_cached() const noexcept { return cache_.capacity > 0; }
  // Earlier names of index(), cache(), fsync() and compression(), kept so
  // existing code compiles.
  const IndexKind& index_kind() const noexcept { return index_; }
  const CacheConfig& cache_config() const noexcept { return cache_; }
  const FsyncPolicy& fsync_policy() const noexcept { return fsync_; }
  const Compression& compression_kind() const noexcept { return compression_; }

  // kInvalidArgument when a value is out of range (dim 0 or above
  // kMaxDim, HNSW m < 2 or > 256, ...).
  Status validate() const;

  static constexpr size_t kMaxDim = 65'536;
  static constexpr size_t kMaxIndexedFields = 65'536;

 private:
  size_t dim_;
  Metric metric_;
  IndexKind index_;
  CacheConfig cache_;
  FsyncPolicy fsync_;
  Compression compression_;
  VectorStorage storage_;
  std::vector<std::string> indexed_fields_;
  size_t write_threads_ = 0;
  bool load_into_memory_ = false;
};

// Per-query knobs. 0 (or null) means "the index's default".
struct SearchParams {
  size_t k = 10;
  const Filter* filter = nullptr;  // not owned; must outlive the call
  size_t ef = 0;                   // HNSW beam width
  size_t n_probes = 0;             // IVF lists to scan
  bool with_metadata = false;      // fill Hit::metadata
  // Score every (matching) record instead of walking the index: the exact
  // k nearest on any index, as the flat index returns them. ef and
  // n_probes are then ignored.
  bool exact = false;
  // search_batch only: at most this many threads work on the batch (0: the
  // whole worker pool). 1 runs it on the calling thread alone.
  size_t threads = 0;
  // search_batch only: one filter per query (a null entry: unfiltered).
  // Either empty or exactly one entry per query, and then `filter` must be
  // null. Not owned; the filters must outlive the call.
  std::span<const Filter* const> filters;
};

}  // namespace iqdb
