#include "index/ivf_pq.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <string>

#include "exec/parallel.h"
#include "index/ivf_kmeans.h"
#include "kernels/pq.h"

namespace iqdb::index::ivf {
namespace {

// k-means++ for a codebook seeds from this many points per codeword: the
// codewords are cheap to refine and seeding is sequential in ksub.
constexpr size_t kSeedRowsPerCodeword = 8;
// Codes are computed this many subquantizers per kernel call.
constexpr size_t kEncodeChunk = 256;

}  // namespace

Result<PqShape> pq_shape(const IvfConfig& config, size_t dim) {
  PqShape s;
  s.ksub = config.pq == IvfConfig::Pq::k8Bit ? 256 : 16;
  if (config.pq_subvectors != 0) {
    if (config.pq_subvectors > kMaxSubquantizers || dim % config.pq_subvectors != 0) {
      return Status::InvalidArgument("IVF pq_subvectors must divide dim and be at most " +
                                     std::to_string(kMaxSubquantizers));
    }
    s.num_sub = config.pq_subvectors;
    s.dsub = dim / s.num_sub;
    return s;
  }
  const size_t base = config.pq == IvfConfig::Pq::k8Bit ? 4 : 2;
  s.dsub = std::max<size_t>(base, (dim + 1023) / 1024);
  s.num_sub = (dim + s.dsub - 1) / s.dsub;
  return s;
}

void ProductQuantizer::train(const float* x, size_t stride, size_t n, size_t iterations,
                             uint64_t seed) {
  const size_t m_count = num_sub(), ds = dsub(), ks = ksub();
  std::vector<float> codebooks(m_count * ds * ks, 0.0f);
  exec::parallel_for(0, m_count, 1, [&](size_t begin, size_t end) {
    std::vector<float> points(n * ds), centroids(ks * ds);
    for (size_t m = begin; m < end; ++m) {
      for (size_t i = 0; i < n; ++i) {
        std::memcpy(points.data() + i * ds, x + i * stride + m * ds, ds * sizeof(float));
      }
      KMeansOptions options;
      options.iterations = iterations;
      options.max_seed_rows = kSeedRowsPerCodeword * ks;
      options.seed = seed + m * 0x9E37'79B9'7F4A'7C15ull;
      train_kmeans(points.data(), ds, n, ds, ks, PartitionDistance::kL2, options, centroids.data(),
                   ds);
      float* cb = codebooks.data() + m * ds * ks;
      for (size_t j = 0; j < ks; ++j) {
        for (size_t d = 0; d < ds; ++d) cb[d * ks + j] = centroids[j * ds + d];
      }
    }
  });
  codebooks_ = std::move(codebooks);
}

void ProductQuantizer::encode(const float* x, uint8_t* codes) const {
  const kernels::PqKernels& pq = kernels::active_pq_kernels();
  const size_t ds = dsub(), ks = ksub();
  uint32_t labels[kEncodeChunk];
  for (size_t m = 0; m < num_sub(); m += kEncodeChunk) {
    const size_t count = std::min(kEncodeChunk, num_sub() - m);
    pq.assign(x + m * ds, ds, count, ds, codebooks_.data() + m * ds * ks, ds * ks, ks, labels,
              nullptr);
    for (size_t i = 0; i < count; ++i) codes[m + i] = static_cast<uint8_t>(labels[i]);
  }
}

void ProductQuantizer::decode(const uint8_t* codes, float* out) const {
  const size_t ds = dsub(), ks = ksub();
  for (size_t m = 0; m < num_sub(); ++m) {
    const float* cb = codebooks_.data() + m * ds * ks;
    for (size_t d = 0; d < ds; ++d) out[m * ds + d] = cb[d * ks + codes[m]];
  }
}

void ProductQuantizer::l2_table(const float* x, const float* center, float* table) const {
  kernels::active_pq_kernels().l2_table(x, center, num_sub(), dsub(), codebooks_.data(), ksub(),
                                        table);
}

void ProductQuantizer::neg_dot_table(const float* x, float* table) const {
  kernels::active_pq_kernels().neg_dot_table(x, num_sub(), dsub(), codebooks_.data(), ksub(),
                                             table);
}

Status ProductQuantizer::set_codebooks(std::span<const uint8_t> bytes) {
  const size_t count = num_sub() * dsub() * ksub();
  if (bytes.size() != count * sizeof(float)) {
    return Status::Corruption("IVF codebook section has " + std::to_string(bytes.size()) +
                              " bytes, expected " + std::to_string(count * sizeof(float)));
  }
  std::vector<float> codebooks(count);
  static_assert(std::endian::native == std::endian::little, "codebooks are little-endian f32");
  std::memcpy(codebooks.data(), bytes.data(), bytes.size());
  for (float v : codebooks) {
    if (!std::isfinite(v)) return Status::Corruption("IVF codebook holds a non-finite value");
  }
  codebooks_ = std::move(codebooks);
  return Status::OK();
}

}  // namespace iqdb::index::ivf
