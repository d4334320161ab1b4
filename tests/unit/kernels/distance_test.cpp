// Tests for kernels/distance.h: every compiled target the CPU can run, every
// kernel (pair, block, gather) against a double-precision scalar reference,
// with rows at unaligned addresses and rows that touch PROT_NONE guard pages.

#include "kernels/distance.h"
#include "util/guarded_region.h"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>
// Only for the independent count of the targets this CPU supports.
#include <hwy/targets.h>

namespace iqdb::kernels {
namespace {

enum class Flush { kFront, kBack };

// `count` values of T between two no-access pages, flush against one of them,
// so a read one element before (kFront) or after (kBack) the data faults.
template <class T>
class Guarded {
 public:
  Guarded(size_t count, Flush flush) {
    const size_t data_bytes = count * sizeof(T);
    auto region = util::GuardedRegion::create(data_bytes);
    REQUIRE(region.ok());
    region_ = std::move(*region);
    uint8_t* data = flush == Flush::kFront ? region_.begin() : region_.end() - data_bytes;
    data_ = reinterpret_cast<T*>(data);
  }

  T* data() const { return data_; }
  // The first byte of the trailing no-access page.
  const T* trailing_guard() const { return reinterpret_cast<const T*>(region_.end()); }

 private:
  util::GuardedRegion region_;
  T* data_ = nullptr;
};

using GuardedFloats = Guarded<float>;

enum class Kernel { kL2Squared, kDot, kL1, kHamming, kSquaredNorm };
constexpr Kernel kTwoRowKernels[] = {Kernel::kL2Squared, Kernel::kDot, Kernel::kL1,
                                     Kernel::kHamming};

const char* kernel_name(Kernel k) {
  switch (k) {
    case Kernel::kL2Squared: return "l2_squared";
    case Kernel::kDot: return "dot";
    case Kernel::kL1: return "l1";
    case Kernel::kHamming: return "hamming";
    case Kernel::kSquaredNorm: return "squared_norm";
  }
  return "?";
}

PairFn pair_fn(const DistanceKernels& k, Kernel which) {
  switch (which) {
    case Kernel::kL2Squared: return k.l2_squared;
    case Kernel::kDot: return k.dot;
    case Kernel::kL1: return k.l1;
    case Kernel::kHamming: return k.hamming;
    case Kernel::kSquaredNorm: return k.squared_norm;
  }
  return nullptr;
}

BlockFn block_fn(const DistanceKernels& k, Kernel which) {
  switch (which) {
    case Kernel::kL2Squared: return k.l2_squared_block;
    case Kernel::kDot: return k.dot_block;
    case Kernel::kL1: return k.l1_block;
    case Kernel::kHamming: return k.hamming_block;
    case Kernel::kSquaredNorm: break;
  }
  return nullptr;
}

GatherFn gather_fn(const DistanceKernels& k, Kernel which) {
  switch (which) {
    case Kernel::kL2Squared: return k.l2_squared_gather;
    case Kernel::kDot: return k.dot_gather;
    case Kernel::kL1: return k.l1_gather;
    case Kernel::kHamming: return k.hamming_gather;
    case Kernel::kSquaredNorm: break;
  }
  return nullptr;
}

// The exact value in double, and the sum of |term| that bounds the rounding
// error of any float summation order.
struct Reference {
  double value;
  double magnitude;
};

Reference reference(Kernel which, const float* a, const float* b, size_t dim) {
  Reference r{0.0, 0.0};
  for (size_t i = 0; i < dim; ++i) {
    const double x = a[i];
    const double y = b[i];
    double term = 0.0;
    switch (which) {
      case Kernel::kL2Squared: term = (x - y) * (x - y); break;
      case Kernel::kDot: term = x * y; break;
      case Kernel::kL1: term = std::fabs(x - y); break;
      case Kernel::kHamming: term = a[i] != b[i] ? 1.0 : 0.0; break;
      case Kernel::kSquaredNorm: term = x * x; break;
    }
    r.value += term;
    r.magnitude += std::fabs(term);
  }
  return r;
}

// Float data with an exact answer needs exact equality; random data may
// differ from the double sum by rounding, bounded relative to sum |term|.
bool close_enough(float got, const Reference& ref, bool exact) {
  if (exact) return static_cast<double>(got) == ref.value;
  return std::fabs(static_cast<double>(got) - ref.value) <= 1e-5 * ref.magnitude + 1e-6;
}

enum class Data { kRandom, kSmallIntegers };

// Random floats in [-1, 1), or integers in [-2, 2] so that many positions are
// equal (Hamming) and every sum is exact in float.
void fill(float* p, size_t count, Data data, std::mt19937& rng) {
  std::uniform_real_distribution<float> real(-1.0f, 1.0f);
  std::uniform_int_distribution<int> integer(-2, 2);
  for (size_t i = 0; i < count; ++i) {
    p[i] = data == Data::kRandom ? real(rng) : static_cast<float>(integer(rng));
  }
}

std::vector<size_t> test_dims() {
  std::vector<size_t> dims;
  for (size_t d = 1; d <= 17; ++d) dims.push_back(d);
  for (size_t d : {64, 100, 784, 1536}) dims.push_back(d);
  return dims;
}

// Runs every kernel of `k` over one layout: a query and kRows rows `stride`
// floats apart, all inside guarded mappings flush against `flush`'s side.
void check_layout(const DistanceKernels& k, size_t dim, size_t offset, Flush flush, Data data,
                  std::mt19937& rng) {
  constexpr size_t kRows = 7;  // one group of four plus three single rows
  const size_t stride = dim + offset;
  const bool exact = data == Data::kSmallIntegers;

  GuardedFloats query_buf(offset + dim, flush);
  const float* q = query_buf.data() + offset;
  fill(query_buf.data(), offset + dim, data, rng);

  // With kFront the first row starts `offset` floats after the guard; with
  // kBack the last row's last float is the last float before the guard.
  GuardedFloats rows_buf(offset + (kRows - 1) * stride + dim, flush);
  const float* rows = rows_buf.data() + offset;
  fill(rows_buf.data(), offset + (kRows - 1) * stride + dim, data, rng);

  for (size_t r = 0; r < kRows; ++r) {
    const float* row = rows + r * stride;
    for (Kernel which : kTwoRowKernels) {
      const float got = pair_fn(k, which)(q, row, dim);
      CHECK_MESSAGE(close_enough(got, reference(which, q, row, dim), exact), kernel_name(which),
                    " pair, row ", r, ": got ", got, " want ", reference(which, q, row, dim).value);
    }
    const float norm = k.squared_norm(row, row, dim);
    CHECK_MESSAGE(close_enough(norm, reference(Kernel::kSquaredNorm, row, row, dim), exact),
                  "squared_norm, row ", r, ": got ", norm);
  }

  // Repeats and out-of-order slots; nine slots = two groups of four plus one.
  // They end at a guard page too, so reading a slot past n (say, to
  // prefetch) faults.
  constexpr uint32_t kSlots[] = {6, 0, 3, 3, 5, 1, 2, 4, 6};
  constexpr size_t kSlotCount = sizeof(kSlots) / sizeof(kSlots[0]);
  Guarded<uint32_t> slots_buf(kSlotCount, Flush::kBack);
  std::memcpy(slots_buf.data(), kSlots, sizeof(kSlots));
  const uint32_t* slots = slots_buf.data();
  for (Kernel which : kTwoRowKernels) {
    std::vector<float> out(kRows + 1, -7.0f);
    block_fn(k, which)(q, rows, stride, kRows, dim, out.data());
    for (size_t r = 0; r < kRows; ++r) {
      const Reference ref = reference(which, q, rows + r * stride, dim);
      CHECK_MESSAGE(close_enough(out[r], ref, exact), kernel_name(which), " block, row ", r,
                    ": got ", out[r], " want ", ref.value);
    }
    CHECK_MESSAGE(out[kRows] == -7.0f, kernel_name(which), " block wrote past out[n - 1]");

    std::vector<float> gathered(kSlotCount + 1, -7.0f);
    gather_fn(k, which)(q, rows, stride, slots, kSlotCount, dim, gathered.data());
    for (size_t i = 0; i < kSlotCount; ++i) {
      const Reference ref = reference(which, q, rows + slots[i] * stride, dim);
      CHECK_MESSAGE(close_enough(gathered[i], ref, exact), kernel_name(which), " gather, slot ",
                    slots[i], ": got ", gathered[i], " want ", ref.value);
    }
    CHECK_MESSAGE(gathered[kSlotCount] == -7.0f, kernel_name(which),
                  " gather wrote past out[n - 1]");
  }
}

TEST_CASE("runnable_kernels has one table per compiled target the CPU supports, best first") {
  const std::vector<int64_t> supported = hwy::SupportedAndGeneratedTargets();
  const std::vector<const DistanceKernels*> tables = runnable_kernels();
  REQUIRE(tables.size() == supported.size());
  REQUIRE_FALSE(tables.empty());
  for (size_t i = 0; i < tables.size(); ++i) {
    REQUIRE(tables[i] != nullptr);
    CHECK(std::string(tables[i]->target) == hwy::TargetName(supported[i]));
  }

  // Runnable targets appear among the compiled ones, in the same order.
  const std::vector<const char*> compiled = compiled_target_names();
  size_t next = 0;
  for (const DistanceKernels* table : tables) {
    while (next < compiled.size() && std::string(compiled[next]) != table->target) ++next;
    CHECK_MESSAGE(next < compiled.size(), table->target, " missing from compiled_target_names");
  }
}

TEST_CASE("active_kernels is the best runnable target and stays the same table") {
  const DistanceKernels& active = active_kernels();
  CHECK(&active == runnable_kernels().front());
  CHECK(&active_kernels() == &active);
}

TEST_CASE("IQDB_TEST_MAX_TARGET keeps every better target out of the kernels and the API") {
  const char* cap = std::getenv("IQDB_TEST_MAX_TARGET");
  if (cap == nullptr || *cap == 0) return;
  // Highway numbers targets best first, so every runnable target's bit is at
  // or above the cap's.
  int64_t cap_bit = 0;
  for (int bit = 0; bit < 63 && cap_bit == 0; ++bit) {
    if (std::string(cap) == hwy::TargetName(int64_t{1} << bit)) cap_bit = int64_t{1} << bit;
  }
  REQUIRE(cap_bit != 0);
  for (const int64_t target : hwy::SupportedAndGeneratedTargets()) CHECK(target >= cap_bit);
  bool active_found = false;
  for (const int64_t target : hwy::SupportedAndGeneratedTargets()) {
    if (std::string(active_kernels().target) == hwy::TargetName(target)) active_found = true;
  }
  CHECK(active_found);
}

// doctest cannot print function pointers; compare them outside the macro.
template <class Fn>
bool is_set(Fn fn) {
  return fn != nullptr;
}

TEST_CASE("every table has every kernel filled in") {
  for (const DistanceKernels* k : runnable_kernels()) {
    const std::string target_name = k->target;
    CAPTURE(target_name);
    for (Kernel which : kTwoRowKernels) {
      CAPTURE(kernel_name(which));
      CHECK(is_set(pair_fn(*k, which)));
      CHECK(is_set(block_fn(*k, which)));
      CHECK(is_set(gather_fn(*k, which)));
    }
    CHECK(is_set(k->squared_norm));
  }
}

TEST_CASE(
    "all kernels match a double reference on every target, any dim, unaligned rows that "
    "touch guard pages") {
  std::mt19937 rng(20240521);
  for (const DistanceKernels* k : runnable_kernels()) {
    for (size_t dim : test_dims()) {
      for (size_t offset = 0; offset <= 3; ++offset) {
        for (Flush flush : {Flush::kFront, Flush::kBack}) {
          for (Data data : {Data::kRandom, Data::kSmallIntegers}) {
            const std::string target_name = k->target;
            CAPTURE(target_name);
            CAPTURE(dim);
            CAPTURE(offset);
            CAPTURE(flush == Flush::kFront ? "front" : "back");
            CAPTURE(data == Data::kRandom ? "random" : "small integers");
            check_layout(*k, dim, offset, flush, data, rng);
          }
        }
      }
    }
  }
}

TEST_CASE("hamming uses IEEE equality: -0 equals +0, inf equals inf, NaN never equals") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const float query_values[] = {0.0f, -0.0f, nan, inf, -inf, 1.0f, -3.5f};
  constexpr size_t kValues = sizeof(query_values) / sizeof(query_values[0]);
  std::vector<size_t> dims = test_dims();
  dims.push_back(37);
  constexpr size_t kRows = 6;  // one group of four plus two single rows
  for (const DistanceKernels* k : runnable_kernels()) {
    for (size_t dim : dims) {
      const std::string target_name = k->target;
      CAPTURE(target_name);
      CAPTURE(dim);
      GuardedFloats query_buf(dim, Flush::kBack);
      GuardedFloats rows_buf(kRows * dim, Flush::kBack);
      float* q = query_buf.data();
      for (size_t i = 0; i < dim; ++i) q[i] = query_values[i % kValues];
      // Row r differs outright (2.0f) where (i + r) % 3 == 0 and elsewhere
      // holds the query's value, with the sign of zero flipped; so the
      // differing positions move through the main loop and the tail.
      std::vector<float> expected(kRows, 0.0f);
      for (size_t r = 0; r < kRows; ++r) {
        float* row = rows_buf.data() + r * dim;
        for (size_t i = 0; i < dim; ++i) {
          if ((i + r) % 3 == 0) {
            row[i] = 2.0f;
          } else if (q[i] == 0.0f) {
            row[i] = std::signbit(q[i]) ? 0.0f : -0.0f;
          } else {
            row[i] = q[i];
          }
          if ((i + r) % 3 == 0 || std::isnan(q[i])) expected[r] += 1.0f;
        }
        const float got = k->hamming(q, row, dim);
        CHECK_MESSAGE(got == expected[r], "pair, row ", r, ": got ", got, " want ", expected[r]);
      }
      std::vector<float> out(kRows, -1.0f);
      k->hamming_block(q, rows_buf.data(), dim, kRows, dim, out.data());
      CHECK(out == expected);
      const std::vector<uint32_t> slots = {5, 4, 3, 2, 1, 0};
      std::vector<float> gathered(kRows, -1.0f);
      k->hamming_gather(q, rows_buf.data(), dim, slots.data(), kRows, dim, gathered.data());
      for (size_t i = 0; i < kRows; ++i) CHECK(gathered[i] == expected[slots[i]]);
    }
  }
}

TEST_CASE("hamming is 0 for a row against itself and dim when every position differs") {
  std::mt19937 rng(7);
  for (const DistanceKernels* k : runnable_kernels()) {
    for (size_t dim : test_dims()) {
      const std::string target_name = k->target;
      CAPTURE(target_name);
      CAPTURE(dim);
      std::vector<float> a(dim), b(dim);
      fill(a.data(), dim, Data::kRandom, rng);
      for (size_t i = 0; i < dim; ++i) b[i] = a[i] + 3.0f;
      CHECK(k->hamming(a.data(), a.data(), dim) == 0.0f);
      CHECK(k->hamming(a.data(), b.data(), dim) == static_cast<float>(dim));
    }
  }
}

TEST_CASE("squared_norm never reads its second argument") {
  GuardedFloats buf(1536, Flush::kBack);
  std::mt19937 rng(11);
  fill(buf.data(), 1536, Data::kSmallIntegers, rng);
  for (const DistanceKernels* k : runnable_kernels()) {
    for (size_t dim : test_dims()) {
      const std::string target_name = k->target;
      CAPTURE(target_name);
      CAPTURE(dim);
      const float* row = buf.data() + 1536 - dim;
      // Any read through the second pointer faults.
      const float got = k->squared_norm(row, buf.trailing_guard(), dim);
      CHECK(static_cast<double>(got) == reference(Kernel::kSquaredNorm, row, row, dim).value);
    }
  }
}

TEST_CASE("block and gather with n = 0 write nothing") {
  const std::vector<float> q(100, 1.0f);
  for (const DistanceKernels* k : runnable_kernels()) {
    const std::string target_name = k->target;
    CAPTURE(target_name);
    for (Kernel which : kTwoRowKernels) {
      float out = -7.0f;
      block_fn(*k, which)(q.data(), q.data(), 100, 0, 100, &out);
      gather_fn(*k, which)(q.data(), q.data(), 100, nullptr, 0, 100, &out);
      CHECK(out == -7.0f);
    }
  }
}

TEST_CASE("block and gather give a row the same bits wherever it falls in the call") {
  std::mt19937 rng(77);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (size_t dim : {1, 7, 16, 33, 100, 784}) {
    const size_t stride = (dim + 15) / 16 * 16, n = 11;
    std::vector<float> rows(n * stride, 0.0f), q(dim);
    for (size_t r = 0; r < n; ++r) {
      for (size_t i = 0; i < dim; ++i) rows[r * stride + i] = normal(rng);
    }
    for (float& v : q) v = normal(rng);
    for (const DistanceKernels* k : runnable_kernels()) {
      for (Kernel which : kTwoRowKernels) {
        const std::string target_name = k->target;
        CAPTURE(target_name);
        CAPTURE(dim);
        std::vector<float> whole(n);
        block_fn(*k, which)(q.data(), rows.data(), stride, n, dim, whole.data());
        for (size_t r = 0; r < n; ++r) {
          CAPTURE(r);
          // Alone, as the tail of a short block, and at every position of a
          // gather of the rows in reverse.
          float alone = 0;
          block_fn(*k, which)(q.data(), rows.data() + r * stride, stride, 1, dim, &alone);
          CHECK(std::memcmp(&alone, &whole[r], sizeof(float)) == 0);
          std::vector<uint32_t> slots(n);
          for (size_t i = 0; i < n; ++i) slots[i] = static_cast<uint32_t>(n - 1 - i);
          std::vector<float> gathered(n);
          gather_fn(*k, which)(q.data(), rows.data(), stride, slots.data(), n, dim,
                               gathered.data());
          CHECK(std::memcmp(&gathered[n - 1 - r], &whole[r], sizeof(float)) == 0);
        }
      }
    }
  }
}

TEST_CASE("dot and l2_squared agree with cosine_from_dot on unit vectors") {
  // |a - b|^2 = 2 - 2 cos for unit vectors, so cosine distance = l2^2 / 2.
  std::mt19937 rng(3);
  const size_t dim = 784;
  std::vector<float> a(dim), b(dim);
  fill(a.data(), dim, Data::kRandom, rng);
  fill(b.data(), dim, Data::kRandom, rng);
  const DistanceKernels& k = active_kernels();
  const float inv_a = 1.0f / std::sqrt(k.squared_norm(a.data(), a.data(), dim));
  const float inv_b = 1.0f / std::sqrt(k.squared_norm(b.data(), b.data(), dim));
  for (size_t i = 0; i < dim; ++i) {
    a[i] *= inv_a;
    b[i] *= inv_b;
  }
  const float cosine = cosine_from_dot(k.dot(a.data(), b.data(), dim), 1.0f, 1.0f);
  CHECK(cosine == doctest::Approx(k.l2_squared(a.data(), b.data(), dim) / 2.0f).epsilon(1e-4));
  CHECK(cosine_from_dot(0.0f, 0.0f, 0.0f) == 1.0f);
}

}  // namespace
}  // namespace iqdb::kernels
