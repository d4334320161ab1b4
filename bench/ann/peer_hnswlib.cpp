// hnswlib peer (Debian libhnswlib-dev 0.6.2, header-only). The only file
// that includes hnswlib, and the only one compiled with -march=native
// (bench/meson.build): hnswlib chooses its SSE / AVX / AVX-512 distance
// kernels with compile-time macros, so a baseline build would run it on SSE
// while iqdb's kernels dispatch at run time to the widest target.
#include <atomic>
#include <thread>

#include "ann/peers.h"

#if IQDB_BENCH_HAVE_HNSWLIB
#include <hnswlib/hnswlib.h>
#endif

namespace iqdb::bench {

#if IQDB_BENCH_HAVE_HNSWLIB
namespace {

class Hnswlib final : public PeerIndex {
 public:
  Hnswlib(size_t m, size_t ef_construction, size_t threads)
      : m_(m), ef_construction_(ef_construction), threads_(threads) {}

  void build(const float* rows, size_t n, size_t dim) override {
    space_ = std::make_unique<hnswlib::L2Space>(dim);
    index_ =
        std::make_unique<hnswlib::HierarchicalNSW<float>>(space_.get(), n, m_, ef_construction_);
    internal_.clear();
    marked_.clear();
    // The same parallel insert hnswlib's own Python binding uses: the first
    // row alone, then threads take rows from a shared counter.
    if (n == 0) return;
    index_->addPoint(rows, 0);
    std::atomic<size_t> next{1};
    std::vector<std::thread> pool;
    for (size_t t = 0; t < threads_; ++t) {
      pool.emplace_back([&] {
        for (size_t i; (i = next.fetch_add(1)) < n;) index_->addPoint(rows + i * dim, i);
      });
    }
    for (auto& th : pool) th.join();
  }
  void set_search_knob(size_t ef) override { index_->setEf(ef); }
  void search(const float* query, size_t k, std::vector<uint32_t>& out) override {
    auto result = index_->searchKnn(query, k);
    out.resize(result.size());
    for (size_t i = result.size(); i-- > 0;) {
      out[i] = static_cast<uint32_t>(result.top().second);
      result.pop();
    }
  }
  // 0.6.2 has no filter functor (0.7 added it), but its delete marks give
  // the same semantics: searchBaseLayerST<has_deletions = true> walks
  // through marked nodes, never returns them, and keeps expanding until it
  // holds ef unmarked ones, which is what 0.8's isIdAllowed does. Marks are
  // set per node (by internal id), so changing the list costs one pass over
  // the rows whose mark flips, outside any timed search.
  bool set_allowed(const std::vector<uint8_t>* allowed) override {
    const size_t n = index_->cur_element_count;
    if (internal_.size() != n) {
      internal_.assign(n, 0);
      for (const auto& [label, id] : index_->label_lookup_) internal_[label] = id;
    }
    marked_.resize(n, 0);
    for (size_t label = 0; label < n; ++label) {
      const uint8_t want = allowed != nullptr && (*allowed)[label] == 0 ? 1 : 0;
      if (want == marked_[label]) continue;
      if (want != 0) {
        index_->markDeletedInternal(internal_[label]);
      } else {
        index_->unmarkDeletedInternal(internal_[label]);
      }
      marked_[label] = want;
    }
    return true;
  }
  size_t memory_bytes() const override {
    size_t bytes = index_->max_elements_ * index_->size_data_per_element_;
    for (size_t i = 0; i < index_->cur_element_count; ++i) {
      bytes += index_->element_levels_[i] > 0
                   ? index_->size_links_per_element_ * size_t(index_->element_levels_[i])
                   : 0;
    }
    return bytes;
  }
  bool save(const std::string& path) override {
    try {
      index_->saveIndex(path);
      return true;
    } catch (const std::exception&) {
      return false;
    }
  }
  bool load(const std::string& path, size_t dim) override {
    try {
      index_.reset();
      space_ = std::make_unique<hnswlib::L2Space>(dim);
      index_ = std::make_unique<hnswlib::HierarchicalNSW<float>>(space_.get(), path);
      internal_.clear();
      marked_.clear();
      return true;
    } catch (const std::exception&) {
      return false;
    }
  }

 private:
  size_t m_, ef_construction_, threads_;
  std::unique_ptr<hnswlib::L2Space> space_;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> index_;
  std::vector<hnswlib::tableint> internal_;  // label -> internal id
  std::vector<uint8_t> marked_;              // label -> marked deleted
};

}  // namespace

bool hnswlib_available() { return true; }
std::unique_ptr<PeerIndex> make_hnswlib(size_t m, size_t ef_construction, size_t threads) {
  return std::make_unique<Hnswlib>(m, ef_construction, threads);
}
#else
bool hnswlib_available() { return false; }
std::unique_ptr<PeerIndex> make_hnswlib(size_t, size_t, size_t) { return nullptr; }
#endif

}  // namespace iqdb::bench
