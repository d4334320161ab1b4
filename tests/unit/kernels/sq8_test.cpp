// Tests for kernels/sq8.h: every compiled target the CPU can run, every
// kernel against an exact int64 scalar reference, including the extremes of
// the query limits (no int32 overflow) and dimensions that cross the
// internal 1024-dimension flush and leave scalar tails.

#include "kernels/sq8.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
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
    const int64_t b = family == Family::kSigned ? int64_t{static_cast<int8_t>(c[i])} : int64_t{c[i]};
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
  const size_t dims[] = {1, 2, 7, 15, 16, 31, 33, 63, 64, 65, 100, 127, 128, 129, 255, 784,
                         1023, 1024, 1025, 2111, 4096};
  for (const Sq8Kernels* k : runnable_sq8_kernels()) {
    CAPTURE(k->target);
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
          for (auto& v : base) if (v == 0x80) v = 0x81;  // int8 codes are -127..127
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

TEST_CASE("sq8 kernels do not overflow at the query limits") {
  for (const Sq8Kernels* k : runnable_sq8_kernels()) {
    CAPTURE(k->target);
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
      CHECK(k->dot_codes(neg.data(), neg.data(), dim) == static_cast<float>(int64_t(dim) * 127 * 127));
      CHECK(k->l2_codes(c.data(), zero.data(), dim) == static_cast<float>(int64_t(dim) * 255 * 255));
      CHECK(k->l1_codes(zero.data(), c.data(), dim) == static_cast<float>(int64_t(dim) * 255));
    }
  }
}

}  // namespace
}  // namespace iqdb::kernels
