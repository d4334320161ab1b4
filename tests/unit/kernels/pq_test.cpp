// Tests for kernels/pq.h: every kernel on every compiled target the CPU can
// run, against double-precision (or exact integer) scalar references, with
// inputs that end at a PROT_NONE guard page where over-reads would matter.

#include "kernels/pq.h"
#include "util/guarded_region.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <hwy/targets.h>

namespace iqdb::kernels {
namespace {

// `count` elements of T ending flush against a no-access page.
template <class T>
class GuardedTail {
 public:
  explicit GuardedTail(size_t count) {
    const size_t bytes = count * sizeof(T);
    auto region = util::GuardedRegion::create(bytes);
    REQUIRE(region.ok());
    region_ = std::move(*region);
    data_ = reinterpret_cast<T*>(region_.end() - bytes);
  }
  T* data() const { return data_; }

 private:
  util::GuardedRegion region_;
  T* data_ = nullptr;
};

std::vector<float> random_floats(size_t n, std::mt19937& rng, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

// |got - want| within rounding of a float sum whose terms sum to `magnitude`.
bool close(double got, double want, double magnitude) {
  return std::fabs(got - want) <= 1e-5 * magnitude + 1e-6;
}

double l2_ref(const float* a, const float* b, size_t dim) {
  double s = 0;
  for (size_t i = 0; i < dim; ++i) s += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
  return s;
}

TEST_CASE("pq kernels: one table per runnable target, each named for it, every kernel set") {
  const std::vector<int64_t> supported = hwy::SupportedAndGeneratedTargets();
  const std::vector<const PqKernels*> tables = runnable_pq_kernels();
  REQUIRE(tables.size() == supported.size());
  for (size_t i = 0; i < tables.size(); ++i) {
    REQUIRE(tables[i] != nullptr);
    CHECK(std::string(tables[i]->target) == hwy::TargetName(supported[i]));
    const bool all_set = tables[i]->nearest_l2 && tables[i]->l2_table && tables[i]->neg_dot_table &&
                         tables[i]->assign && tables[i]->pq8_scan && tables[i]->fs4_quantize_lut &&
                         tables[i]->fs4_l2_lut && tables[i]->fs4_scan;
    CHECK(all_set);
  }
  CHECK(&active_pq_kernels() == tables.front());
}

TEST_CASE(
    "nearest_l2 finds the nearest centroid on every target, any dim, odd row and centroid "
    "counts") {
  std::mt19937 rng(11);
  for (const PqKernels* k : runnable_pq_kernels()) {
    for (size_t dim : {1, 2, 3, 5, 8, 15, 16, 17, 33, 100, 784}) {
      for (size_t n : {1, 2, 5}) {
        for (size_t cents : {1, 3, 4, 9}) {
          const std::string target_name = k->target;
          CAPTURE(target_name);
          CAPTURE(dim);
          CAPTURE(n);
          CAPTURE(cents);
          const size_t row_stride = dim + 3, c_stride = dim + 1;
          GuardedTail<float> rows((n - 1) * row_stride + dim);
          GuardedTail<float> centroids((cents - 1) * c_stride + dim);
          auto r = random_floats((n - 1) * row_stride + dim, rng);
          auto c = random_floats((cents - 1) * c_stride + dim, rng);
          std::copy(r.begin(), r.end(), rows.data());
          std::copy(c.begin(), c.end(), centroids.data());
          std::vector<float> norms(cents);
          for (size_t j = 0; j < cents; ++j) {
            double s = 0;
            for (size_t d = 0; d < dim; ++d) s += double(c[j * c_stride + d]) * c[j * c_stride + d];
            norms[j] = float(s);
          }
          std::vector<uint32_t> labels(n, 999);
          std::vector<float> dists(n, -1);
          k->nearest_l2(rows.data(), row_stride, n, centroids.data(), c_stride, norms.data(), cents,
                        dim, labels.data(), dists.data());
          for (size_t i = 0; i < n; ++i) {
            REQUIRE(labels[i] < cents);
            double best = std::numeric_limits<double>::infinity();
            for (size_t j = 0; j < cents; ++j) {
              best = std::min(best, l2_ref(&r[i * row_stride], &c[j * c_stride], dim));
            }
            const double got = l2_ref(&r[i * row_stride], &c[labels[i] * c_stride], dim);
            // The kernel expands |x-c|^2; near-ties may pick either.
            CHECK(got <= best + 1e-4 * (1 + best));
            CHECK(std::fabs(dists[i] - got) <= 1e-4 * (1 + got));
          }
        }
      }
    }
  }
}

TEST_CASE("nearest_l2 breaks exact ties toward the lower centroid") {
  for (const PqKernels* k : runnable_pq_kernels()) {
    const std::string target_name = k->target;
    CAPTURE(target_name);
    const size_t dim = 20;
    std::vector<float> row(dim, 1.0f), cents(6 * dim, 3.0f), norms(6, 9.0f * dim);
    uint32_t label = 99;
    k->nearest_l2(row.data(), dim, 1, cents.data(), dim, norms.data(), 6, dim, &label, nullptr);
    CHECK(label == 0);
  }
}

// Reference tables in double.
double table_ref(bool l2, const float* x, const float* center, size_t m, size_t dsub,
                 const float* books, size_t ksub, size_t j, double* magnitude) {
  double s = 0, mag = 0;
  for (size_t d = 0; d < dsub; ++d) {
    const double cw = books[(m * dsub + d) * ksub + j];
    const double a = double(x[m * dsub + d]) - (center ? center[m * dsub + d] : 0.0f);
    const double term = l2 ? (a - cw) * (a - cw) : -a * cw;
    s += term;
    mag += std::fabs(term);
  }
  *magnitude = mag;
  return s;
}

TEST_CASE("l2_table and neg_dot_table match a double reference on every target") {
  std::mt19937 rng(12);
  for (const PqKernels* k : runnable_pq_kernels()) {
    for (size_t ksub : {16, 256}) {
      for (size_t num_sub : {1, 3, 8}) {
        for (size_t dsub : {1, 2, 4, 5}) {
          const std::string target_name = k->target;
          CAPTURE(target_name);
          CAPTURE(ksub);
          CAPTURE(num_sub);
          CAPTURE(dsub);
          const size_t cd = num_sub * dsub;
          GuardedTail<float> x(cd), center(cd), books(cd * ksub);
          auto xv = random_floats(cd, rng), cv = random_floats(cd, rng),
               bv = random_floats(cd * ksub, rng);
          std::copy(xv.begin(), xv.end(), x.data());
          std::copy(cv.begin(), cv.end(), center.data());
          std::copy(bv.begin(), bv.end(), books.data());
          std::vector<float> out(num_sub * ksub);
          for (int variant = 0; variant < 3; ++variant) {
            const bool l2 = variant < 2;
            const float* c = variant == 1 ? center.data() : nullptr;
            if (l2) {
              k->l2_table(x.data(), c, num_sub, dsub, books.data(), ksub, out.data());
            } else {
              k->neg_dot_table(x.data(), num_sub, dsub, books.data(), ksub, out.data());
            }
            for (size_t m = 0; m < num_sub; ++m) {
              for (size_t j = 0; j < ksub; ++j) {
                double mag = 0;
                const double want =
                    table_ref(l2, x.data(), c, m, dsub, books.data(), ksub, j, &mag);
                CHECK(close(out[m * ksub + j], want, mag));
              }
            }
          }
        }
      }
    }
  }
}

TEST_CASE("assign encodes one vector and assigns many points on every target") {
  std::mt19937 rng(13);
  for (const PqKernels* k : runnable_pq_kernels()) {
    for (size_t ksub : {16, 32, 256}) {
      for (size_t dsub : {1, 2, 4, 7}) {
        const std::string target_name = k->target;
        CAPTURE(target_name);
        CAPTURE(ksub);
        CAPTURE(dsub);
        const size_t num_sub = 5;
        auto books = random_floats(num_sub * dsub * ksub, rng);
        auto x = random_floats(num_sub * dsub, rng);
        std::vector<uint32_t> labels(num_sub);
        std::vector<float> dists(num_sub);
        // Encoding: subquantizer m of x against codebook m.
        k->assign(x.data(), dsub, num_sub, dsub, books.data(), dsub * ksub, ksub, labels.data(),
                  dists.data());
        for (size_t m = 0; m < num_sub; ++m) {
          double best = std::numeric_limits<double>::infinity(), got = 0, mag = 0;
          for (size_t j = 0; j < ksub; ++j) {
            const double d =
                table_ref(true, x.data(), nullptr, m, dsub, books.data(), ksub, j, &mag);
            best = std::min(best, d);
            if (j == labels[m]) got = d;
          }
          REQUIRE(labels[m] < ksub);
          CHECK(got <= best + 1e-5);
          CHECK(std::fabs(dists[m] - got) <= 1e-5);
        }
        // Many points of one subspace (codebook_stride 0), dists optional.
        const size_t n = 9;
        auto points = random_floats(n * dsub, rng);
        labels.assign(n, 999);
        k->assign(points.data(), dsub, n, dsub, books.data(), 0, ksub, labels.data(), nullptr);
        for (size_t i = 0; i < n; ++i) {
          double best = std::numeric_limits<double>::infinity(), got = 0, mag = 0;
          for (size_t j = 0; j < ksub; ++j) {
            const double d = table_ref(true, points.data() + i * dsub, nullptr, 0, dsub,
                                       books.data(), ksub, j, &mag);
            best = std::min(best, d);
            if (j == labels[i]) got = d;
          }
          CHECK(got <= best + 1e-5);
        }
      }
    }
  }
}

TEST_CASE("assign breaks ties toward the lower codeword") {
  for (const PqKernels* k : runnable_pq_kernels()) {
    const std::string target_name = k->target;
    CAPTURE(target_name);
    std::vector<float> books(2 * 256, 0.5f);
    books[7] = 0.25f;  // codeword 7, dimension 0 (the rest are all equal)
    books[200] = 0.25f;
    books[256 + 7] = 0.5f;
    books[256 + 200] = 0.5f;
    const float x[2] = {0.25f, 0.5f};
    uint32_t label = 0;
    k->assign(x, 2, 1, 2, books.data(), 0, 256, &label, nullptr);
    CHECK(label == 7);
  }
}

TEST_CASE("pq8_scan sums table lookups on every target") {
  std::mt19937 rng(14);
  for (const PqKernels* k : runnable_pq_kernels()) {
    for (size_t num_sub : {1, 3, 16, 196}) {
      for (size_t n : {0, 1, 3, 4, 9}) {
        const std::string target_name = k->target;
        CAPTURE(target_name);
        CAPTURE(num_sub);
        CAPTURE(n);
        auto table = random_floats(num_sub * 256, rng, 0.0f, 10.0f);
        GuardedTail<uint8_t> codes(std::max<size_t>(1, n * num_sub));
        std::uniform_int_distribution<int> byte(0, 255);
        for (size_t i = 0; i < n * num_sub; ++i) codes.data()[i] = static_cast<uint8_t>(byte(rng));
        std::vector<float> out(n + 1, -1.0f);
        k->pq8_scan(codes.data(), n, num_sub, table.data(), out.data());
        for (size_t i = 0; i < n; ++i) {
          double want = 0;
          for (size_t m = 0; m < num_sub; ++m)
            want += table[m * 256 + codes.data()[i * num_sub + m]];
          CHECK(close(out[i], want, want));
        }
        CHECK(out[n] == -1.0f);  // nothing written past n
      }
    }
  }
}

// The quantised LUT of fs4_quantize_lut, as the contract states it.
void check_quantized(const std::vector<float>& table, size_t num_sub, size_t m_pad,
                     const std::vector<uint8_t>& lut, float bias, float scale) {
  REQUIRE(scale > 0);
  double bias_ref = 0, sum_of_max = 0;
  for (size_t m = 0; m < num_sub; ++m) {
    const float* row = &table[m * 16];
    const float lo = *std::min_element(row, row + 16);
    bias_ref += lo;
    uint8_t row_max = 0;
    for (size_t j = 0; j < 16; ++j) {
      const uint8_t q = lut[m * 16 + j];
      row_max = std::max(row_max, q);
      // Round-to-nearest of (value - min) * scale: within half a step.
      CHECK(std::fabs((double(row[j]) - lo) * scale - q) <= 0.5 + 1e-3 * (1 + q));
    }
    sum_of_max += row_max;
  }
  CHECK(sum_of_max <= 65535);
  CHECK(std::fabs(bias - bias_ref) <= 1e-4 * (1 + std::fabs(bias_ref)));
  for (size_t i = num_sub * 16; i < m_pad * 16; ++i) CHECK(lut[i] == 0);
}

TEST_CASE("fs4_quantize_lut keeps every entry in uint8 and every sum in uint16 on every target") {
  std::mt19937 rng(15);
  for (const PqKernels* k : runnable_pq_kernels()) {
    for (size_t num_sub : {1, 3, 4, 98, 392, 1000}) {
      for (float spread : {0.0f, 1.0f, 1000.0f}) {
        const std::string target_name = k->target;
        CAPTURE(target_name);
        CAPTURE(num_sub);
        CAPTURE(spread);
        const size_t m_pad = fs4_padded_subquantizers(num_sub);
        auto table = random_floats(num_sub * 16, rng, 0.0f, spread + 1e-3f);
        for (size_t m = 0; m < num_sub; m += 2) table[m * 16 + 3] += 5.0f;  // uneven rows
        if (spread == 0.0f) std::fill(table.begin(), table.end(), 2.5f);    // all spans zero
        std::vector<uint8_t> lut(m_pad * 16, 0xEE);
        float bias = 0, scale = 0;
        k->fs4_quantize_lut(table.data(), num_sub, m_pad, lut.data(), &bias, &scale);
        check_quantized(table, num_sub, m_pad, lut, bias, scale);
      }
    }
  }
}

TEST_CASE("fs4_l2_lut equals l2_table followed by fs4_quantize_lut on every target") {
  std::mt19937 rng(17);
  for (const PqKernels* k : runnable_pq_kernels()) {
    for (size_t dsub : {1, 2, 3, 4}) {
      for (size_t num_sub : {1, 5, 16, 17, 392}) {
        const std::string target_name = k->target;
        CAPTURE(target_name);
        CAPTURE(dsub);
        CAPTURE(num_sub);
        const size_t m_pad = fs4_padded_subquantizers(num_sub);
        auto x = random_floats(num_sub * dsub, rng), c = random_floats(num_sub * dsub, rng);
        auto books = random_floats(num_sub * dsub * 16, rng);
        std::vector<float> table(num_sub * 16), scratch(num_sub * 16);
        std::vector<uint8_t> want(m_pad * 16), got(m_pad * 16, 0xEE);
        float want_bias, want_scale, got_bias, got_scale;
        k->l2_table(x.data(), c.data(), num_sub, dsub, books.data(), 16, table.data());
        k->fs4_quantize_lut(table.data(), num_sub, m_pad, want.data(), &want_bias, &want_scale);
        k->fs4_l2_lut(x.data(), c.data(), num_sub, dsub, books.data(), m_pad, scratch.data(),
                      got.data(), &got_bias, &got_scale);
        CHECK(got == want);
        CHECK(got_bias == want_bias);
        CHECK(got_scale == want_scale);
        check_quantized(table, num_sub, m_pad, got, got_bias, got_scale);
      }
    }
  }
}

TEST_CASE("fs4_scan equals the scalar sum of LUT entries on every target, at any block count") {
  std::mt19937 rng(16);
  std::uniform_int_distribution<int> nibble(0, 15);
  for (const PqKernels* k : runnable_pq_kernels()) {
    for (size_t m_pad : {4, 8, 12, 256, 392}) {
      for (size_t n_blocks : {0, 1, 3}) {
        const std::string target_name = k->target;
        CAPTURE(target_name);
        CAPTURE(m_pad);
        CAPTURE(n_blocks);
        // LUT entries up to 255 while m_pad * 255 fits in uint16; beyond
        // that, from the quantiser (whose sums fit by contract).
        GuardedTail<uint8_t> lut(m_pad * 16);
        if (m_pad * 255 <= 65535) {
          std::uniform_int_distribution<int> byte(0, 255);
          for (size_t i = 0; i < m_pad * 16; ++i) lut.data()[i] = static_cast<uint8_t>(byte(rng));
        } else {
          auto table = random_floats(m_pad * 16, rng, 0.0f, 50.0f);
          float bias, scale;
          k->fs4_quantize_lut(table.data(), m_pad, m_pad, lut.data(), &bias, &scale);
        }
        const size_t block_bytes = fs4_block_bytes(m_pad);
        GuardedTail<uint8_t> blocks(std::max<size_t>(1, n_blocks * block_bytes));
        std::vector<uint8_t> codes(n_blocks * 32 * m_pad);
        for (size_t b = 0; b < n_blocks; ++b) {
          for (size_t v = 0; v < 32; ++v) {
            for (size_t m = 0; m < m_pad; ++m) {
              const auto c = static_cast<uint8_t>(nibble(rng));
              codes[(b * 32 + v) * m_pad + m] = c;
              fs4_set_code(blocks.data() + b * block_bytes, m, v, c);
            }
          }
        }
        for (uint16_t threshold : {uint16_t{0}, uint16_t{1000}, uint16_t{20000}, uint16_t{65535}}) {
          CAPTURE(threshold);
          std::vector<uint16_t> out(n_blocks * 32 + 1, 0xBEEF);
          std::vector<uint32_t> masks(n_blocks + 1, 0xDEADBEEF);
          k->fs4_scan(blocks.data(), n_blocks, m_pad, lut.data(), threshold, out.data(),
                      masks.data());
          for (size_t i = 0; i < n_blocks * 32; ++i) {
            uint32_t want = 0;
            for (size_t m = 0; m < m_pad; ++m) want += lut.data()[m * 16 + codes[i * m_pad + m]];
            REQUIRE(want <= 65535);
            CHECK(out[i] == want);
            CHECK(((masks[i / 32] >> (i % 32)) & 1) == (want <= threshold ? 1u : 0u));
          }
          CHECK(out[n_blocks * 32] == 0xBEEF);
          CHECK(masks[n_blocks] == 0xDEADBEEF);
        }
      }
    }
  }
}

TEST_CASE("fs4 code helpers round-trip every nibble position") {
  std::vector<uint8_t> block(fs4_block_bytes(8), 0);
  for (size_t m = 0; m < 8; ++m) {
    for (size_t v = 0; v < 32; ++v)
      fs4_set_code(block.data(), m, v, static_cast<uint8_t>((m * 7 + v) & 15));
  }
  for (size_t m = 0; m < 8; ++m) {
    for (size_t v = 0; v < 32; ++v) CHECK(fs4_get_code(block.data(), m, v) == ((m * 7 + v) & 15));
  }
}

}  // namespace
}  // namespace iqdb::kernels
