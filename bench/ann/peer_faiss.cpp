// FAISS peers (Debian libfaiss-dev). The only file that includes FAISS.
#include "ann/peers.h"

#include <string>

#if IQDB_BENCH_HAVE_FAISS
#include <faiss/IndexFlat.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/IndexIVFPQFastScan.h>
#include <faiss/IndexRefine.h>
#include <omp.h>

// OpenBLAS's own thread pool and identification. Weak: another BLAS may
// lack them, and the batched peer then runs on whatever that BLAS chooses.
extern "C" {
void openblas_set_num_threads(int) __attribute__((weak));
char* openblas_get_config() __attribute__((weak));
char* openblas_get_corename() __attribute__((weak));
}
#endif

namespace iqdb::bench {

#if IQDB_BENCH_HAVE_FAISS
namespace {

using Idx = faiss::Index::idx_t;

class FaissFlat final : public PeerIndex {
 public:
  void build(const float* rows, size_t n, size_t dim) override {
    index_ = std::make_unique<faiss::IndexFlatL2>(static_cast<Idx>(dim));
    index_->add(static_cast<Idx>(n), rows);
  }
  void search(const float* query, size_t k, std::vector<uint32_t>& out) override {
    distances_.resize(k);
    labels_.resize(k);
    index_->search(1, query, static_cast<Idx>(k), distances_.data(), labels_.data());
    out.clear();
    for (Idx l : labels_) {
      if (l >= 0) out.push_back(static_cast<uint32_t>(l));
    }
  }
  size_t memory_bytes() const override {
    return static_cast<size_t>(index_->ntotal) * static_cast<size_t>(index_->d) * sizeof(float);
  }

 private:
  std::unique_ptr<faiss::IndexFlatL2> index_;
  std::vector<float> distances_;
  std::vector<Idx> labels_;
};

// Many queries per call: FAISS switches to its BLAS path (sgemm of query
// blocks against database blocks, then heap updates) from 20 queries on.
class FaissFlatBatched final : public PeerIndex {
 public:
  explicit FaissFlatBatched(size_t threads) : threads_(static_cast<int>(threads)) {}
  void build(const float* rows, size_t n, size_t dim) override {
    index_ = std::make_unique<faiss::IndexFlatL2>(static_cast<Idx>(dim));
    index_->add(static_cast<Idx>(n), rows);
  }
  void search(const float* query, size_t k, std::vector<uint32_t>& out) override {
    std::vector<std::vector<uint32_t>> many;
    search_many(query, 1, static_cast<size_t>(index_->d), k, many);
    out = std::move(many[0]);
  }
  void search_many(const float* queries, size_t n, size_t, size_t k,
                   std::vector<std::vector<uint32_t>>& out) override {
    omp_set_num_threads(threads_);
    if (openblas_set_num_threads != nullptr) openblas_set_num_threads(threads_);
    distances_.resize(n * k);
    labels_.resize(n * k);
    index_->search(static_cast<Idx>(n), queries, static_cast<Idx>(k), distances_.data(),
                   labels_.data());
    // Back to one thread, as every other point of the sweep runs.
    omp_set_num_threads(1);
    if (openblas_set_num_threads != nullptr) openblas_set_num_threads(1);
    out.assign(n, {});
    for (size_t q = 0; q < n; ++q) {
      for (size_t i = 0; i < k; ++i) {
        if (labels_[q * k + i] >= 0) out[q].push_back(static_cast<uint32_t>(labels_[q * k + i]));
      }
    }
  }
  size_t memory_bytes() const override {
    return static_cast<size_t>(index_->ntotal) * static_cast<size_t>(index_->d) * sizeof(float);
  }

 private:
  int threads_;
  std::unique_ptr<faiss::IndexFlatL2> index_;
  std::vector<float> distances_;
  std::vector<Idx> labels_;
};

// IVF peers: trained and filled on kIvfBuildThreads OpenMP threads (iqdb
// builds on its TBB pool too), then searched one query at a time on one.
constexpr int kIvfBuildThreads = 2;

class FaissIvfFlat final : public PeerIndex {
 public:
  explicit FaissIvfFlat(size_t nlist) : nlist_(nlist) {}
  void build(const float* rows, size_t n, size_t dim) override {
    omp_set_num_threads(kIvfBuildThreads);
    quantizer_ = std::make_unique<faiss::IndexFlatL2>(static_cast<Idx>(dim));
    index_ = std::make_unique<faiss::IndexIVFFlat>(quantizer_.get(), dim, nlist_);
    index_->train(static_cast<Idx>(n), rows);
    index_->add(static_cast<Idx>(n), rows);
    omp_set_num_threads(1);
  }
  void set_search_knob(size_t nprobe) override { index_->nprobe = nprobe; }
  void search(const float* query, size_t k, std::vector<uint32_t>& out) override {
    distances_.resize(k);
    labels_.resize(k);
    index_->search(1, query, static_cast<Idx>(k), distances_.data(), labels_.data());
    out.clear();
    for (Idx l : labels_) {
      if (l >= 0) out.push_back(static_cast<uint32_t>(l));
    }
  }
  size_t memory_bytes() const override {
    const auto n = static_cast<size_t>(index_->ntotal), d = static_cast<size_t>(index_->d);
    return n * (d * sizeof(float) + sizeof(Idx)) + nlist_ * d * sizeof(float);
  }

 private:
  size_t nlist_;
  std::unique_ptr<faiss::IndexFlatL2> quantizer_;
  std::unique_ptr<faiss::IndexIVFFlat> index_;
  std::vector<float> distances_;
  std::vector<Idx> labels_;
};

class FaissIvfPqFastScanRefine final : public PeerIndex {
 public:
  FaissIvfPqFastScanRefine(size_t nlist, size_t m) : nlist_(nlist), m_(m) {}
  void build(const float* rows, size_t n, size_t dim) override {
    omp_set_num_threads(kIvfBuildThreads);
    quantizer_ = std::make_unique<faiss::IndexFlatL2>(static_cast<Idx>(dim));
    base_ = std::make_unique<faiss::IndexIVFPQFastScan>(quantizer_.get(), dim, nlist_, m_, 4);
    refine_ = std::make_unique<faiss::IndexRefineFlat>(base_.get());
    refine_->train(static_cast<Idx>(n), rows);
    refine_->add(static_cast<Idx>(n), rows);
    omp_set_num_threads(1);
  }
  void set_search_knob(size_t nprobe) override { base_->nprobe = nprobe; }
  void set_refine_factor(size_t factor) override { refine_->k_factor = static_cast<float>(factor); }
  void search(const float* query, size_t k, std::vector<uint32_t>& out) override {
    distances_.resize(k);
    labels_.resize(k);
    refine_->search(1, query, static_cast<Idx>(k), distances_.data(), labels_.data());
    out.clear();
    for (Idx l : labels_) {
      if (l >= 0) out.push_back(static_cast<uint32_t>(l));
    }
  }
  size_t memory_bytes() const override {
    // 4-bit codes and ids in the lists, the refine copy of the rows, the
    // centroids.
    const auto n = static_cast<size_t>(base_->ntotal), d = static_cast<size_t>(base_->d);
    return n * ((m_ + 1) / 2 + sizeof(Idx) + d * sizeof(float)) + nlist_ * d * sizeof(float);
  }

 private:
  size_t nlist_, m_;
  std::unique_ptr<faiss::IndexFlatL2> quantizer_;
  std::unique_ptr<faiss::IndexIVFPQFastScan> base_;
  std::unique_ptr<faiss::IndexRefineFlat> refine_;
  std::vector<float> distances_;
  std::vector<Idx> labels_;
};

}  // namespace

std::unique_ptr<PeerIndex> make_faiss_ivf_flat(size_t nlist) {
  return std::make_unique<FaissIvfFlat>(nlist);
}
std::unique_ptr<PeerIndex> make_faiss_ivfpq_fastscan_refine(size_t nlist, size_t m) {
  return std::make_unique<FaissIvfPqFastScanRefine>(nlist, m);
}

bool faiss_available() { return true; }
std::unique_ptr<PeerIndex> make_faiss_flat_batched(size_t threads) {
  return std::make_unique<FaissFlatBatched>(threads == 0 ? 1 : threads);
}
std::string faiss_blas_description() {
  std::string out;
  if (openblas_get_config != nullptr) out = openblas_get_config();
  if (openblas_get_corename != nullptr) {
    out += std::string(" (core ") + openblas_get_corename() + ")";
  }
  return out;
}
std::unique_ptr<PeerIndex> make_faiss_flat() {
  omp_set_num_threads(1);  // single-thread search, like every other point
  return std::make_unique<FaissFlat>();
}
#else
bool faiss_available() { return false; }
std::unique_ptr<PeerIndex> make_faiss_flat() { return nullptr; }
std::unique_ptr<PeerIndex> make_faiss_flat_batched(size_t) { return nullptr; }
std::string faiss_blas_description() { return {}; }
std::unique_ptr<PeerIndex> make_faiss_ivf_flat(size_t) { return nullptr; }
std::unique_ptr<PeerIndex> make_faiss_ivfpq_fastscan_refine(size_t, size_t) { return nullptr; }
#endif

}  // namespace iqdb::bench
