// FAISS peers (Debian libfaiss-dev). The only file that includes FAISS.
#include "ann/peers.h"

#if IQDB_BENCH_HAVE_FAISS
#include <faiss/IndexFlat.h>
#include <omp.h>
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

}  // namespace

bool faiss_available() { return true; }
std::unique_ptr<PeerIndex> make_faiss_flat() {
  omp_set_num_threads(1);  // single-thread search, like every other point
  return std::make_unique<FaissFlat>();
}
#else
bool faiss_available() { return false; }
std::unique_ptr<PeerIndex> make_faiss_flat() { return nullptr; }
#endif

}  // namespace iqdb::bench
