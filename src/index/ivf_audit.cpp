// IvfIndex::audit(): every list entry re-derived from its row and compared
// with what the index holds. Distances of the two competing choices are
// recomputed in double so that a tie broken differently by another SIMD
// target is not reported as damage.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "index/ivf.h"
#include "index/ivf_internal.h"

namespace iqdb::index {
namespace {

// Relative slack for "equally near": float kernels round each of `dim`
// terms, so two choices closer than this are a tie, not a wrong choice.
constexpr double kTieSlack = 1e-4;
// Rows assigned per call of the assignment kernel.
constexpr size_t kChunk = 256;

struct Distance {
  double value = 0;
  double scale = 0;  // magnitude of the terms summed, for the tie slack
};

Distance partition_distance(ivf::PartitionDistance kind, const float* a, const float* b, size_t n) {
  Distance d;
  for (size_t i = 0; i < n; ++i) {
    const double x = a[i], y = b[i];
    switch (kind) {
      case ivf::PartitionDistance::kL2:
        d.value += (x - y) * (x - y);
        d.scale += x * x + y * y;
        break;
      case ivf::PartitionDistance::kL1:
        d.value += std::abs(x - y);
        d.scale += std::abs(x) + std::abs(y);
        break;
      case ivf::PartitionDistance::kHamming:
        d.value += x != y ? 1.0 : 0.0;
        d.scale += 1.0;
        break;
    }
  }
  return d;
}

// Whether `held` is no nearer than `best` beyond rounding.
bool worse(const Distance& held, const Distance& best) {
  const double slack = kTieSlack * std::max(held.scale, best.scale) + 1e-12;
  return held.value > best.value + slack;
}

// Squared L2 from the dsub floats at `sub` to codeword j of subquantizer m
// (codebooks in the transposed layout of kernels/pq.h).
Distance codeword_distance(const float* sub, const float* books, size_t m, size_t j, size_t dsub,
                           size_t ksub) {
  Distance d;
  for (size_t i = 0; i < dsub; ++i) {
    const double x = sub[i], y = books[(m * dsub + i) * ksub + j];
    d.value += (x - y) * (x - y);
    d.scale += x * x + y * y;
  }
  return d;
}

}  // namespace

IvfIndex::Audit IvfIndex::audit() const {
  Audit audit;
  if (!model_) return audit;
  const Model& model = *model_;
  const size_t dim = store_->dim(), stride = centroid_stride_;
  const size_t num_sub = pq_shape_.num_sub, dsub = pq_shape_.dsub, ksub = pq_shape_.ksub;
  const size_t code_dim = pq_shape_.code_dim();
  const float* centroids = model.centroid(0, stride);
  const float* books = model.pq.codebooks().data();
  const ivf::PayloadLayout& layout = model.lists.layout();

  auto flag = [&](size_t& counter, uint32_t slot) {
    ++counter;
    if (audit.first_bad_slot == kNoSlot) audit.first_bad_slot = slot;
  };

  std::vector<float> rows(kChunk * stride);
  std::vector<uint32_t> nearest(kChunk);
  std::vector<float> nearest_dist(kChunk);
  std::vector<uint8_t> held(num_sub), fresh(num_sub);
  for (uint32_t list = 0; list < model.n_lists; ++list) {
    const uint32_t* slots = model.lists.slots(list);
    const float* own = centroids + size_t{list} * stride;
    for (size_t first = 0; first < model.lists.size(list); first += kChunk) {
      const size_t n = std::min(kChunk, model.lists.size(list) - first);
      for (size_t i = 0; i < n; ++i) index_vector(slots[first + i], rows.data() + i * stride);
      ivf::assign_nearest(partition_, rows.data(), stride, n, dim, centroids, stride,
                          model.norms.data(), model.n_lists, nearest.data(), nearest_dist.data());
      for (size_t i = 0; i < n; ++i) {
        const size_t pos = first + i;
        const uint32_t slot = slots[pos];
        float* row = rows.data() + i * stride;
        ++audit.entries;
        if (nearest[i] != list) {
          const Distance mine = partition_distance(partition_, row, own, dim);
          const Distance best =
              partition_distance(partition_, row, centroids + size_t{nearest[i]} * stride, dim);
          if (worse(mine, best)) flag(audit.misfiled, slot);
        }
        if (num_sub == 0) {
          const uint8_t* stored = model.lists.payload(list) + pos * layout.entry_bytes;
          const uint8_t* source = model.code_rows
                                      ? store_->code_row(slot)
                                      : reinterpret_cast<const uint8_t*>(store_->row(slot));
          if (std::memcmp(stored, source, layout.entry_bytes) != 0) flag(audit.wrong_rows, slot);
          continue;
        }
        // PQ codes describe the residual from the list's own centroid.
        for (size_t d = 0; d < code_dim; ++d) row[d] -= own[d];
        model.lists.codes_at(list, pos, held.data());
        model.pq.encode(row, fresh.data());
        for (size_t m = 0; m < num_sub; ++m) {
          if (held[m] == fresh[m]) continue;
          const float* sub = row + m * dsub;
          const Distance mine = held[m] < ksub
                                    ? codeword_distance(sub, books, m, held[m], dsub, ksub)
                                    : Distance{INFINITY, 0};
          const Distance best = codeword_distance(sub, books, m, fresh[m], dsub, ksub);
          if (worse(mine, best)) {
            flag(audit.wrong_codes, slot);
            break;
          }
        }
      }
    }
  }
  return audit;
}

}  // namespace iqdb::index
