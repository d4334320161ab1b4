// Tests for kernels/gemm.h: on every compiled target the CPU can run, the
// panel kernel against a double-precision reference within the rounding
// bound the header promises, for every panel width, row counts that leave
// every remainder block, strided and gathered rows, odd dims, and rows that
// end at the last float of a mapping.

#include "kernels/gemm.h"
#include "util/guarded_region.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <hwy/targets.h>

namespace iqdb::kernels {
namespace {

constexpr double kUnitRoundoff = 1.0 / (1 << 24);

// A 64-byte-aligned float buffer for panels.
struct Aligned {
  explicit Aligned(size_t n) : storage(n + 16) {
    auto address = reinterpret_cast<uintptr_t>(storage.data());
    data = storage.data() + ((64 - address % 64) % 64) / sizeof(float);
  }
  std::vector<float> storage;
  float* data;
};

std::vector<float> random_floats(size_t n, std::mt19937& rng, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

// Checks out[r * width + j] against the exact dot product of query j and
// row r, within 2 dim u sum|q_k x_k| (plus a hair for the double reference).
void check_panel(const GemmKernels& g, const std::vector<float>& queries, size_t n_queries,
                 const std::vector<const float*>& rows, size_t dim, const std::vector<float>& out,
                 size_t width) {
  for (size_t r = 0; r < rows.size(); ++r) {
    for (size_t j = 0; j < width; ++j) {
      double want = 0, magnitude = 0;
      if (j < n_queries) {
        for (size_t k = 0; k < dim; ++k) {
          want += double(queries[j * dim + k]) * rows[r][k];
          magnitude += std::fabs(double(queries[j * dim + k]) * rows[r][k]);
        }
      }
      const double bound = 2.0 * double(dim) * kUnitRoundoff * magnitude + 1e-30;
      const double got = out[r * width + j];
      if (std::fabs(got - want) > bound) {
        FAIL_CHECK(g.target, " dim ", dim, " row ", r, " query ", j, ": got ", got, " want ", want);
        return;
      }
    }
  }
}

TEST_CASE("gemm tables name the targets they were built for, best first") {
  const auto tables = runnable_gemm_kernels();
  const auto supported = hwy::SupportedAndGeneratedTargets();
  REQUIRE(tables.size() == supported.size());
  for (size_t i = 0; i < tables.size(); ++i) {
    CHECK(std::string(tables[i]->target) == hwy::TargetName(supported[i]));
    CHECK(tables[i]->lanes >= 1);
    CHECK(tables[i]->max_panel_vectors >= 1);
  }
  CHECK(std::string(active_gemm_kernels().target) == tables.front()->target);
}

TEST_CASE("gemm panel packing transposes queries and zeroes unused columns") {
  std::mt19937 rng(7);
  for (const GemmKernels* g : runnable_gemm_kernels()) {
    const size_t dim = 5;
    const size_t width = g->max_panel_vectors * g->lanes;
    const size_t nq = width > 1 ? width - 1 : 1;
    auto queries = random_floats(nq * dim, rng);
    Aligned panel(dim * width);
    for (size_t i = 0; i < dim * width; ++i) panel.data[i] = 99.0f;
    g->pack_queries(queries.data(), dim, nq, dim, g->max_panel_vectors, panel.data);
    for (size_t k = 0; k < dim; ++k) {
      for (size_t j = 0; j < width; ++j) {
        const float want = j < nq ? queries[j * dim + k] : 0.0f;
        CHECK(panel.data[k * width + j] == want);
      }
    }
  }
}

TEST_CASE("gemm dot_panel matches a double reference for every width, remainder and row layout") {
  std::mt19937 rng(11);
  for (const GemmKernels* g : runnable_gemm_kernels()) {
    const std::string target_name = g->target;
    CAPTURE(target_name);
    for (size_t dim : {size_t{1}, size_t{3}, size_t{16}, size_t{33}, size_t{784}}) {
      for (size_t vectors = 1; vectors <= g->max_panel_vectors; ++vectors) {
        const size_t width = vectors * g->lanes;
        const size_t nq = std::max<size_t>(1, width - (dim % 3));  // some columns unused
        auto queries = random_floats(nq * dim, rng);
        Aligned panel(dim * width);
        g->pack_queries(queries.data(), dim, nq, dim, vectors, panel.data);
        const size_t stride = dim + 3;
        const size_t n_rows = 29;  // crosses every remainder block size (<= 12)
        auto rows = random_floats(n_rows * stride, rng);
        std::vector<float> out(n_rows * width, -1.0f);
        for (size_t n = 0; n <= n_rows; n += (n < 14 ? 1 : 5)) {
          // Consecutive rows.
          g->dot_panel(panel.data, vectors, rows.data(), stride, nullptr, n, dim, nullptr,
                       out.data(), nullptr);
          std::vector<const float*> ptrs;
          for (size_t r = 0; r < n; ++r) ptrs.push_back(rows.data() + r * stride);
          check_panel(*g, queries, nq, ptrs, dim, out, width);
          // Gathered rows, out of order and repeated.
          std::vector<uint32_t> slots;
          ptrs.clear();
          for (size_t r = 0; r < n; ++r) {
            slots.push_back(static_cast<uint32_t>((r * 7 + 3) % n_rows));
            ptrs.push_back(rows.data() + slots.back() * stride);
          }
          g->dot_panel(panel.data, vectors, rows.data(), stride, slots.data(), n, dim, nullptr,
                       out.data(), nullptr);
          check_panel(*g, queries, nq, ptrs, dim, out, width);
        }
      }
    }
  }
}

TEST_CASE("gemm dot_panel's filter flags exactly the passing (row, query) pairs") {
  std::mt19937 rng(19);
  for (const GemmKernels* g : runnable_gemm_kernels()) {
    const std::string target_name = g->target;
    CAPTURE(target_name);
    const size_t dim = 40;
    for (size_t vectors = 1; vectors <= g->max_panel_vectors; ++vectors) {
      const size_t width = vectors * g->lanes;
      REQUIRE(width <= 64);
      auto queries = random_floats(width * dim, rng);
      Aligned panel(dim * width);
      g->pack_queries(queries.data(), dim, width, dim, vectors, panel.data);
      const size_t n = 31;
      auto rows = random_floats(n * dim, rng);
      auto q_add = random_floats(width, rng), q_mul = random_floats(width, rng);
      auto row_add = random_floats(n, rng), row_mul = random_floats(n, rng);
      row_add[5] = std::numeric_limits<float>::quiet_NaN();
      std::vector<float> plain(n * width);
      g->dot_panel(panel.data, vectors, rows.data(), dim, nullptr, n, dim, nullptr, plain.data(),
                   nullptr);
      // The value the filter compares for (row, query), from the unfiltered products.
      auto value = [&](size_t r, size_t j) {
        return q_add[j] + row_add[r] + plain[r * width + j] * (q_mul[j] * row_mul[r]);
      };
      // Each column's limit sits halfway between two neighbouring values of
      // that column, so a known number of rows pass and no value is near the
      // edge where the kernel's fused multiply-add may round the other way.
      // The last column's limit is -1e30 (no row passes); row 5's value is NaN
      // (it passes every column).
      std::vector<float> limit(width);
      size_t want_passed = 0;
      for (size_t j = 0; j < width; ++j) {
        if (j == width - 1) {
          limit[j] = -1e30f;
          want_passed += 1;
          continue;
        }
        std::vector<float> column;
        for (size_t r = 0; r < n; ++r) {
          if (r != 5) column.push_back(value(r, j));
        }
        std::sort(column.begin(), column.end());
        // The widest gap among the middle values: 30 uniform draws leave one
        // far wider than the rounding difference, whatever the seed.
        size_t below = column.size() / 4;
        for (size_t i = column.size() / 4; i < 3 * column.size() / 4; ++i) {
          if (column[i + 1] - column[i] > column[below + 1] - column[below]) below = i;
        }
        REQUIRE(column[below + 1] - column[below] > 1e-4f);
        limit[j] = (column[below] + column[below + 1]) / 2;
        want_passed += below + 1 + 1;  // rows at or under the limit, and row 5
      }
      const PanelFilter filter{q_add.data(), q_mul.data(), limit.data(), row_add.data(),
                               row_mul.data()};
      std::vector<float> out(n * width);
      std::vector<uint64_t> passing(n, ~uint64_t{0});
      g->dot_panel(panel.data, vectors, rows.data(), dim, nullptr, n, dim, &filter, out.data(),
                   passing.data());
      CHECK(out == plain);  // the filter changes no product
      size_t passed = 0;
      for (size_t r = 0; r < n; ++r) {
        CHECK((width == 64 || (passing[r] >> width) == 0));
        for (size_t j = 0; j < width; ++j) {
          const bool want = r == 5 || !(value(r, j) > limit[j]);
          const bool got = (passing[r] >> j) & 1;
          CHECK(got == want);
          passed += got;
        }
      }
      CHECK(passed == want_passed);
    }
  }
}

TEST_CASE("gemm dot_panel never reads past the end of a row") {
  std::mt19937 rng(3);
  for (const GemmKernels* g : runnable_gemm_kernels()) {
    for (size_t dim : {size_t{1}, size_t{7}, size_t{100}}) {
      // One row flush against a no-access page.
      auto region = util::GuardedRegion::create(dim * sizeof(float));
      REQUIRE(region.ok());
      float* row = reinterpret_cast<float*>(region->end()) - dim;
      auto values = random_floats(dim, rng);
      std::copy(values.begin(), values.end(), row);
      const size_t width = g->lanes;
      auto queries = random_floats(dim, rng);
      Aligned panel(dim * width);
      g->pack_queries(queries.data(), dim, 1, dim, 1, panel.data);
      std::vector<float> out(width);
      g->dot_panel(panel.data, 1, row, dim, nullptr, 1, dim, nullptr, out.data(), nullptr);
      check_panel(*g, queries, 1, {row}, dim, out, width);
    }
  }
}

TEST_CASE("gemm fma_probe runs and stays finite") {
  for (const GemmKernels* g : runnable_gemm_kernels()) {
    const float v = g->fma_probe(1000);
    CHECK(std::isfinite(v));
    CHECK(v > 0.0f);
    CHECK(g->fma_probe_flops >= 2);
  }
}

}  // namespace
}  // namespace iqdb::kernels
