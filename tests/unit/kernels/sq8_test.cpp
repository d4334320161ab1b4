// Tests for kernels/sq8.h: every compiled target the CPU can run, every
// kernel against an exact int64 scalar reference, including the extremes of
// the query limits (no int32 overflow) and dimensions that cross the
// internal 1024-dimension flush and leave scalar tails.

#include "kernels/sq8.h"

#include <cstddef>
#include <cstdint>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <hwy/targets.h>

namespace iqdb::kernels {
namespace {

enum class Family { kUnsigned, kSigned };

int64_t ref_query(const char* op, const int16_t* q, const uint8_t* c, size_t dim, Family family) {
  int64_t sum = 0;
  for (size_t i = 0; i < dim; ++i) {
    const int64_t a = q[i];
    const int64_t b =
        family == Family::kSigned ? int64_t{static_cast<int8_t>(c[i])} : int64_t{c[i]};
    if (std::string(op) == "l2") sum += (a - b) * (a - b);
    if (std::string(op) == "l1") sum += std::llabs(a - b);
    if (std::string(op) == "dot") sum += a * b;
  }
  return sum;
}

std::vector<int16_t> widen(const std::vector<uint8_t>& codes, Family family) {
  std::vector<int16_t> out(codes.size());
  for (size_t i = 0; i < codes.size(); ++i) {
    out[i] = family == Family::kSigned ? static_cast<int8_t>(codes[i]) : codes[i];
  }
  return out;
}

struct Case {
  const char* op;
  Family family;
  int16_t q_min, q_max;
};

const Case kCases[] = {
    {"l2", Family::kUnsigned, kSq8QueryMin, kSq8QueryMax},
    {"l1", Family::kUnsigned, kSq8QueryMin, kSq8QueryMax},
    {"dot", Family::kSigned, -kSq8DotQueryLimit, kSq8DotQueryLimit},
};

Sq8QueryFn query_fn(const Sq8Kernels& k, const std::string& op) {
  return op == "l2" ? k.l2_query : op == "l1" ? k.l1_query : k.dot_query;
}
Sq8CodesFn codes_fn(const Sq8Kernels& k, const std::string& op) {
  return op == "l2" ? k.l2_codes : op == "l1" ? k.l1_codes : k.dot_codes;
}
Sq8GatherFn gather_fn(const Sq8Kernels& k, const std::string& op) {
  return op == "l2" ? k.l2_gather : op == "l1" ? k.l1_gather : k.dot_gather;
}

TEST_CASE("sq8 kernels: one table per runnable target, each named for it") {
  const auto tables = runnable_sq8_kernels();
  const auto targets = hwy::SupportedAndGeneratedTargets();
  REQUIRE(tables.size() == targets.size());
  for (size_t i = 0; i < tables.size(); ++i) {
    CHECK(std::string(tables[i]->target) == hwy::TargetName(targets[i]));
  }
  CHECK(std::string(active_sq8_kernels().target) == tables.front()->target);
}

TEST_CASE("sq8 kernels match the exact scalar reference on every target") {
  std::mt19937 rng(7);
  const size_t dims[] = {1,   2,   7,   15,  16,  31,   33,   63,   64,   65,  100,
                         127, 128, 129, 255, 784, 1023, 1024, 1025, 2111, 4096};
  for (const Sq8Kernels* k : runnable_sq8_kernels()) {
    const std::string target_name = k->target;
    CAPTURE(target_name);
    for (const Case& c : kCases) {
      CAPTURE(c.op);
      for (size_t dim : dims) {
        CAPTURE(dim);
        std::uniform_int_distribution<int> qd(c.q_min, c.q_max);
        std::uniform_int_distribution<int> cd(0, 255);
        std::vector<int16_t> q(dim);
        for (auto& v : q) v = static_cast<int16_t>(qd(rng));
        // Several rows at odd offsets inside one buffer, for gather.
        const size_t rows = 5, stride = dim + 3;
        std::vector<uint8_t> base(rows * stride + 1);
        for (auto& v : base) v = static_cast<uint8_t>(cd(rng));
        if (c.family == Family::kSigned) {
          for (auto& v : base)
            if (v == 0x80) v = 0x81;  // int8 codes are -127..127
        }
        const uint8_t* data = base.data() + 1;
        std::vector<uint32_t> slots = {3, 0, 4, 4, 1};
        std::vector<float> out(slots.size(), -1.0f);
        gather_fn(*k, c.op)(q.data(), data, stride, slots.data(), slots.size(), dim, out.data());
        for (size_t i = 0; i < slots.size(); ++i) {
          const uint8_t* row = data + slots[i] * stride;
          const float want = static_cast<float>(ref_query(c.op, q.data(), row, dim, c.family));
          CHECK(query_fn(*k, c.op)(q.data(), row, dim) == want);
          CHECK(out[i] == want);
        }
        const uint8_t* a = data;
        const uint8_t* b = data + stride;
        std::vector<uint8_t> a_copy(a, a + dim);
        const std::vector<int16_t> a_wide = widen(a_copy, c.family);
        const float want = static_cast<float>(ref_query(c.op, a_wide.data(), b, dim, c.family));
        CHECK(codes_fn(*k, c.op)(a, b, dim) == want);
        CHECK(codes_fn(*k, c.op)(b, a, dim) == want);
      }
    }
  }
}

TEST_CASE("bounded sq8 gathers give the full sum or a value past the bound") {
  std::mt19937 rng(9);
  std::uniform_int_distribution<int> qd(kSq8QueryMin, kSq8QueryMax), cd(0, 255);
  for (const Sq8Kernels* k : runnable_sq8_kernels()) {
    const std::string target_name = k->target;
    CAPTURE(target_name);
    for (size_t dim :
         {size_t{3}, size_t{64}, size_t{255}, size_t{256}, size_t{784}, size_t{2000}}) {
      CAPTURE(dim);
      std::vector<int16_t> q(dim);
      for (auto& v : q) v = static_cast<int16_t>(qd(rng));
      const size_t rows = 6;
      std::vector<uint8_t> base(rows * dim);
      for (auto& v : base) v = static_cast<uint8_t>(cd(rng));
      std::vector<uint32_t> slots = {0, 1, 2, 3, 4, 5};
      for (const char* op : {"l2", "l1"}) {
        CAPTURE(op);
        const auto bounded = std::string(op) == "l2" ? k->l2_gather_bounded : k->l1_gather_bounded;
        std::vector<float> full(rows);
        gather_fn(*k, op)(q.data(), base.data(), dim, slots.data(), rows, dim, full.data());
        std::vector<float> sorted = full;
        std::sort(sorted.begin(), sorted.end());
        for (float bound : {-1.0f, sorted[0], sorted[2], sorted[5], 1e30f}) {
          std::vector<float> got(rows);
          bounded(q.data(), base.data(), dim, slots.data(), rows, dim, bound, got.data());
          for (size_t i = 0; i < rows; ++i) {
            if (full[i] <= bound) {
              CHECK(got[i] == full[i]);  // within the bound: exact
            } else {
              CHECK(got[i] > bound);  // beyond: known to be beyond
              CHECK(got[i] <= full[i]);
            }
          }
        }
      }
    }
  }
}

TEST_CASE("sq8 kernels do not overflow at the query limits") {
  for (const Sq8Kernels* k : runnable_sq8_kernels()) {
    const std::string target_name = k->target;
    CAPTURE(target_name);
    for (size_t dim : {size_t{1024}, size_t{4096}, size_t{65536}}) {
      CAPTURE(dim);
      std::vector<int16_t> q(dim, kSq8QueryMin);
      std::vector<uint8_t> c(dim, 255);
      const int64_t d = int64_t{kSq8QueryMin} - 255;
      CHECK(k->l2_query(q.data(), c.data(), dim) == static_cast<float>(int64_t(dim) * d * d));
      CHECK(k->l1_query(q.data(), c.data(), dim) == static_cast<float>(int64_t(dim) * -d));
      std::vector<int16_t> qmax(dim, kSq8QueryMax);
      std::vector<uint8_t> zero(dim, 0);
      CHECK(k->l2_query(qmax.data(), zero.data(), dim) ==
            static_cast<float>(int64_t(dim) * kSq8QueryMax * kSq8QueryMax));
      std::vector<int16_t> qd(dim, static_cast<int16_t>(-kSq8DotQueryLimit));
      std::vector<uint8_t> neg(dim, static_cast<uint8_t>(static_cast<int8_t>(-127)));
      CHECK(k->dot_query(qd.data(), neg.data(), dim) ==
            static_cast<float>(int64_t(dim) * kSq8DotQueryLimit * 127));
      CHECK(k->dot_codes(neg.data(), neg.data(), dim) ==
            static_cast<float>(int64_t(dim) * 127 * 127));
      CHECK(k->l2_codes(c.data(), zero.data(), dim) ==
            static_cast<float>(int64_t(dim) * 255 * 255));
      CHECK(k->l1_codes(zero.data(), c.data(), dim) == static_cast<float>(int64_t(dim) * 255));
    }
  }
}

TEST_CASE("sq8 query quantisation rounds half up, clamps, and sums its rounding error") {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-3000.0f, 3000.0f);
  for (const Sq8Kernels* k : runnable_sq8_kernels()) {
    const std::string target_name = k->target;
    CAPTURE(target_name);
    for (size_t dim : {size_t{1}, size_t{7}, size_t{16}, size_t{33}, size_t{784}, size_t{1000}}) {
      CAPTURE(dim);
      for (bool with_offset : {true, false}) {
        std::vector<float> q(dim), offset(dim);
        for (auto& v : q) v = u(rng) / 3.0f;
        for (auto& v : offset) v = u(rng) / 10.0f;
        q[0] = 2.5f;  // halves round up
        if (dim > 2) q[1] = -2.5f;
        if (dim > 3) q[2] = 1e9f;  // clamps
        const float inv = 0.75f;
        std::vector<int16_t> got(dim);
        float err[2];
        k->quantize(q.data(), with_offset ? offset.data() : nullptr, inv, dim, -1024, 1279,
                    got.data(), err);
        double sq = 0, ab = 0;
        for (size_t i = 0; i < dim; ++i) {
          const float v = (q[i] - (with_offset ? offset[i] : 0.0f)) * inv;
          const float want = std::floor(std::min(std::max(v, -1024.0f), 1279.0f) + 0.5f);
          REQUIRE(got[i] == static_cast<int16_t>(want));
          sq += double(v - want) * double(v - want);
          ab += std::fabs(double(v - want));
        }
        CHECK(err[0] == doctest::Approx(sq).epsilon(1e-4));
        CHECK(err[1] == doctest::Approx(ab).epsilon(1e-4));
      }
      // NaN goes to the lower limit and makes the error infinite.
      std::vector<float> bad(dim, 1.0f);
      bad[dim - 1] = std::numeric_limits<float>::quiet_NaN();
      std::vector<int16_t> got(dim);
      float err[2];
      k->quantize(bad.data(), nullptr, 1.0f, dim, -7, 7, got.data(), err);
      CHECK(got[dim - 1] == -7);
      CHECK(std::isinf(err[0]));
      // So does an infinite value, which clamps; wherever it sits (vector
      // body or tail).
      for (size_t at : {size_t{0}, dim / 2, dim - 1}) {
        for (float inf :
             {std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity()}) {
          CAPTURE(at);
          CAPTURE(inf);
          std::vector<float> big(dim, 1.0f);
          big[at] = inf;
          float e[2] = {0.0f, 0.0f};
          k->quantize(big.data(), nullptr, 1.0f, dim, -7, 7, got.data(), e);
          CHECK(got[at] == (inf > 0 ? 7 : -7));
          CHECK(std::isinf(e[0]));
          CHECK(std::isinf(e[1]));
          CHECK(e[0] > 0.0f);
          CHECK(e[1] > 0.0f);
        }
      }
    }
  }
}

}  // namespace
}  // namespace iqdb::kernels
