// The peers of the sweep, each behind a plain interface so that FAISS and
// hnswlib are each included by exactly one file (and hnswlib's file alone
// is compiled with -march=native). A peer not compiled into this build
// reports available() == false.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace iqdb::bench {

class PeerIndex {
 public:
  virtual ~PeerIndex() = default;
  // Adds n rows (ids 0..n-1).
  virtual void build(const float* rows, size_t n, size_t dim) = 0;
  // The k nearest ids of one query.
  virtual void search(const float* query, size_t k, std::vector<uint32_t>& out) = 0;
  // Per-query knob (ef for graphs); ignored by exact indices.
  virtual void set_search_knob(size_t) {}
  // Second knob of indices that rerank a shortlist (its size over k).
  virtual void set_refine_factor(size_t) {}
  // The k nearest ids of n queries (row-major, dim floats each). Peers that
  // answer a batch in one call override it; the default asks one by one.
  virtual void search_many(const float* queries, size_t n, size_t dim, size_t k,
                           std::vector<std::vector<uint32_t>>& out) {
    out.resize(n);
    for (size_t i = 0; i < n; ++i) search(queries + i * dim, k, out[i]);
  }
  // Restricts what search() may return to the rows with allowed[id] != 0
  // (nullptr: every row), as an allow-list precomputed before the queries;
  // the walk still passes through the other rows. False when the peer has
  // no such filter.
  virtual bool set_allowed(const std::vector<uint8_t>*) { return false; }
  virtual size_t memory_bytes() const = 0;
  // Writes the built index to `path` / replaces this index with the one
  // saved there (the peer's own file format). False when the peer cannot.
  virtual bool save(const std::string&) { return false; }
  virtual bool load(const std::string&, size_t /*dim*/) { return false; }
};

// How each peer was built, printed next to its figures.
inline constexpr const char* kFaissLabel = "FAISS (Debian build, generic x86-64)";
inline constexpr const char* kHnswlibLabel = "hnswlib 0.6.2 (Debian headers), -march=native";
inline constexpr const char* kHnswlibAllowListLabel =
    "hnswlib 0.6.2 (Debian headers), -march=native, allow-list as deleted marks";

bool faiss_available();
// FAISS IndexFlatL2, searching one query per call on one thread.
std::unique_ptr<PeerIndex> make_faiss_flat();
// FAISS IndexFlatL2 answering many queries per call (search_many: one
// sgemm-based search through BLAS) on `threads` threads (OpenMP and
// OpenBLAS both set). Not thread-safe: it sets process-wide thread counts.
std::unique_ptr<PeerIndex> make_faiss_flat_batched(size_t threads);
// The BLAS FAISS runs on, e.g. "OpenBLAS 0.3.21 (Zen)"; empty when unknown.
std::string faiss_blas_description();
// FAISS IndexIVFFlat over `nlist` lists (IndexFlatL2 quantiser), trained and
// filled on 2 threads, searched on one; the search knob is nprobe.
std::unique_ptr<PeerIndex> make_faiss_ivf_flat(size_t nlist);
// FAISS IndexIVFPQFastScan (m subquantizers of 4 bits, blocks of 32, on
// residuals) under an IndexRefineFlat (exact rerank), built on 2 threads,
// searched on one; the search knob is nprobe, the refine factor k_factor.
std::unique_ptr<PeerIndex> make_faiss_ivfpq_fastscan_refine(size_t nlist, size_t m);

// hnswlib, compiled for this CPU (-march=native) in a library of its own
// (bench/meson.build): kHnswlibLabel.
bool hnswlib_available();
std::unique_ptr<PeerIndex> make_hnswlib(size_t m, size_t ef_construction, size_t build_threads);

}  // namespace iqdb::bench
