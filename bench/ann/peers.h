// The peers of the sweep, each behind a plain interface so that FAISS and
// hnswlib are each included by exactly one file. A peer not compiled into
// this build reports available() == false.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
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
  virtual size_t memory_bytes() const = 0;
};

bool faiss_available();
// FAISS IndexFlatL2, searching one query per call on one thread.
std::unique_ptr<PeerIndex> make_faiss_flat();

bool hnswlib_available();
std::unique_ptr<PeerIndex> make_hnswlib(size_t m, size_t ef_construction, size_t build_threads);

}  // namespace iqdb::bench
