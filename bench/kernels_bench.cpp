// Micro-benchmarks of the f32 distance kernels (kernels/distance.h).
//
//   pair/<kernel>/<dim>            one query vs one row, active target
//   block/<kernel>/<dim>           one query vs the rows of a 256 KiB block
//                                  (L2-resident), active target
//   gather/<kernel>/<dim>          one query vs 64 random rows of a 64 MiB base
//                                  (memory-bound, as in HNSW search)
//   vs_scalar/{pair,block}/<kernel>/<dim>/batch:64
//                                  the active target against a plain scalar
//                                  loop compiled in this file, timed in
//                                  alternating batches of 64 calls in the same
//                                  run. Time is per batch of SIMD calls;
//                                  counters simd_ns and scalar_ns are per call,
//                                  speedup = scalar time / SIMD time
//   targets/l2_squared_{pair,block}/784/<target>
//                                  every runnable target, for comparison
//
// Bytes processed count the floats of both operands that a call must read.

#include <benchmark/benchmark.h>

#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels/distance.h"

namespace {

using iqdb::kernels::BlockFn;
using iqdb::kernels::DistanceKernels;
using iqdb::kernels::GatherFn;
using iqdb::kernels::PairFn;

constexpr size_t kDims[] = {64, 128, 784, 1536};
// The scalar side is slow; compare at two dims to keep the run short.
constexpr size_t kScalarDims[] = {128, 784};
constexpr int kScalarBatch = 64;
constexpr size_t kBlockBytes = 256 * 1024;
constexpr size_t kGatherBaseBytes = 64 * 1024 * 1024;
constexpr size_t kGatherRows = 64;

// ---- Buffers: 64-byte aligned, rows padded to 64 bytes, like the arena.

struct FreeDeleter {
  void operator()(float* p) const { std::free(p); }
};
using FloatBuffer = std::unique_ptr<float[], FreeDeleter>;

size_t padded_stride(size_t dim) { return (dim + 15) / 16 * 16; }

// Random floats in [-1, 1); every other float repeats the previous buffer's
// value with probability 1/2 when `like` is given, so Hamming sees a mix of
// equal and unequal positions.
FloatBuffer random_floats(size_t count, std::mt19937& rng, const float* like = nullptr) {
  const size_t bytes = (count * sizeof(float) + 63) / 64 * 64;
  FloatBuffer buf(static_cast<float*>(std::aligned_alloc(64, bytes)));
  std::uniform_real_distribution<float> real(-1.0f, 1.0f);
  std::bernoulli_distribution keep(0.5);
  for (size_t i = 0; i < count; ++i) {
    buf[i] = like != nullptr && keep(rng) ? like[i] : real(rng);
  }
  return buf;
}

// ---- Plain scalar loops: what the kernels replace. Called through a
// function pointer like the kernels, so call overhead is the same.

float scalar_l2_squared(const float* a, const float* b, size_t dim) {
  float sum = 0.0f;
  for (size_t i = 0; i < dim; ++i) {
    const float diff = a[i] - b[i];
    sum += diff * diff;
  }
  return sum;
}

float scalar_dot(const float* a, const float* b, size_t dim) {
  float sum = 0.0f;
  for (size_t i = 0; i < dim; ++i) sum += a[i] * b[i];
  return sum;
}

float scalar_l1(const float* a, const float* b, size_t dim) {
  float sum = 0.0f;
  for (size_t i = 0; i < dim; ++i) sum += std::fabs(a[i] - b[i]);
  return sum;
}

float scalar_hamming(const float* a, const float* b, size_t dim) {
  float count = 0.0f;
  for (size_t i = 0; i < dim; ++i) count += a[i] != b[i] ? 1.0f : 0.0f;
  return count;
}

float scalar_squared_norm(const float* a, const float*, size_t dim) {
  float sum = 0.0f;
  for (size_t i = 0; i < dim; ++i) sum += a[i] * a[i];
  return sum;
}

// ---- The kernels by name.

struct KernelInfo {
  const char* name;
  PairFn DistanceKernels::*pair;
  BlockFn DistanceKernels::*block;    // nullptr for squared_norm
  GatherFn DistanceKernels::*gather;  // nullptr for squared_norm
  PairFn scalar;
  bool unary;
};

const KernelInfo kKernels[] = {
    {"l2_squared", &DistanceKernels::l2_squared, &DistanceKernels::l2_squared_block,
     &DistanceKernels::l2_squared_gather, &scalar_l2_squared, false},
    {"dot", &DistanceKernels::dot, &DistanceKernels::dot_block, &DistanceKernels::dot_gather,
     &scalar_dot, false},
    {"l1", &DistanceKernels::l1, &DistanceKernels::l1_block, &DistanceKernels::l1_gather,
     &scalar_l1, false},
    {"hamming", &DistanceKernels::hamming, &DistanceKernels::hamming_block,
     &DistanceKernels::hamming_gather, &scalar_hamming, false},
    {"squared_norm", &DistanceKernels::squared_norm, nullptr, nullptr, &scalar_squared_norm, true},
};

int64_t pair_bytes(const KernelInfo& k, size_t dim) {
  return static_cast<int64_t>((k.unary ? 1 : 2) * dim * sizeof(float));
}

size_t block_rows(size_t dim) {
  const size_t rows = kBlockBytes / (padded_stride(dim) * sizeof(float));
  return rows < 4 ? 4 : rows;
}

// ---- Benchmarks.

void bm_pair(benchmark::State& state, const DistanceKernels* table, const KernelInfo* k,
             size_t dim) {
  std::mt19937 rng(1);
  const FloatBuffer a = random_floats(dim, rng);
  const FloatBuffer b = random_floats(dim, rng, a.get());
  const PairFn fn = table->*(k->pair);
  for (auto _ : state) benchmark::DoNotOptimize(fn(a.get(), b.get(), dim));
  state.SetBytesProcessed(state.iterations() * pair_bytes(*k, dim));
  state.SetLabel(table->target);
}

void bm_block(benchmark::State& state, const DistanceKernels* table, const KernelInfo* k,
              size_t dim) {
  std::mt19937 rng(2);
  const size_t stride = padded_stride(dim);
  const size_t n = block_rows(dim);
  const FloatBuffer q = random_floats(dim, rng);
  const FloatBuffer rows = random_floats(n * stride, rng);
  std::vector<float> out(n);
  const BlockFn fn = table->*(k->block);
  for (auto _ : state) {
    fn(q.get(), rows.get(), stride, n, dim, out.data());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(n * dim * sizeof(float)));
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(n));
  state.SetLabel(table->target);
}

void bm_gather(benchmark::State& state, const DistanceKernels* table, const KernelInfo* k,
               size_t dim) {
  std::mt19937 rng(3);
  const size_t stride = padded_stride(dim);
  const size_t base_rows = kGatherBaseBytes / (stride * sizeof(float));
  const FloatBuffer q = random_floats(dim, rng);
  const FloatBuffer base = random_floats(base_rows * stride, rng);
  // Many slot lists, so consecutive calls do not find their rows cached.
  std::uniform_int_distribution<uint32_t> pick(0, static_cast<uint32_t>(base_rows - 1));
  std::vector<uint32_t> slots(kGatherRows * 1024);
  for (uint32_t& s : slots) s = pick(rng);
  std::vector<float> out(kGatherRows);
  const GatherFn fn = table->*(k->gather);
  size_t list = 0;
  for (auto _ : state) {
    fn(q.get(), base.get(), stride, slots.data() + list * kGatherRows, kGatherRows, dim,
       out.data());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
    list = (list + 1) % 1024;
  }
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(kGatherRows * dim * sizeof(float)));
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kGatherRows));
  state.SetLabel(table->target);
}

// Times `simd` and `scalar` in alternating batches so both see the same
// machine state; one iteration is one batch, timed as its SIMD half only.
template <class Simd, class Scalar>
void time_against_scalar(benchmark::State& state, int64_t bytes_per_call, Simd simd,
                         Scalar scalar) {
  using Clock = std::chrono::steady_clock;
  constexpr int kBatch = kScalarBatch;
  double simd_seconds = 0.0;
  double scalar_seconds = 0.0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    for (int i = 0; i < kBatch; ++i) simd();
    const auto t1 = Clock::now();
    for (int i = 0; i < kBatch; ++i) scalar();
    const auto t2 = Clock::now();
    const double simd_batch = std::chrono::duration<double>(t1 - t0).count();
    simd_seconds += simd_batch;
    scalar_seconds += std::chrono::duration<double>(t2 - t1).count();
    state.SetIterationTime(simd_batch);
  }
  const double calls = static_cast<double>(state.iterations()) * kBatch;
  state.SetBytesProcessed(state.iterations() * kBatch * bytes_per_call);
  state.counters["simd_ns"] = simd_seconds / calls * 1e9;
  state.counters["scalar_ns"] = scalar_seconds / calls * 1e9;
  state.counters["scalar_GB/s"] =
      static_cast<double>(bytes_per_call) * calls / scalar_seconds / 1e9;
  state.counters["speedup"] = scalar_seconds / simd_seconds;
}

void bm_pair_vs_scalar(benchmark::State& state, const KernelInfo* k, size_t dim) {
  std::mt19937 rng(4);
  const FloatBuffer a = random_floats(dim, rng);
  const FloatBuffer b = random_floats(dim, rng, a.get());
  const DistanceKernels& table = iqdb::kernels::active_kernels();
  const PairFn simd = table.*(k->pair);
  // Through a volatile pointer so the compiler cannot inline the scalar loop
  // and fold it across the batch.
  PairFn volatile scalar = k->scalar;
  time_against_scalar(
      state, pair_bytes(*k, dim), [&] { benchmark::DoNotOptimize(simd(a.get(), b.get(), dim)); },
      [&] { benchmark::DoNotOptimize(scalar(a.get(), b.get(), dim)); });
  state.SetLabel(table.target);
}

void bm_block_vs_scalar(benchmark::State& state, const KernelInfo* k, size_t dim) {
  std::mt19937 rng(5);
  const size_t stride = padded_stride(dim);
  const size_t n = block_rows(dim);
  const FloatBuffer q = random_floats(dim, rng);
  const FloatBuffer rows = random_floats(n * stride, rng);
  std::vector<float> out(n);
  const DistanceKernels& table = iqdb::kernels::active_kernels();
  const BlockFn simd = table.*(k->block);
  PairFn volatile scalar = k->scalar;
  time_against_scalar(
      state, static_cast<int64_t>(n * dim * sizeof(float)),
      [&] {
        simd(q.get(), rows.get(), stride, n, dim, out.data());
        benchmark::ClobberMemory();
      },
      [&] {
        const PairFn fn = scalar;
        for (size_t i = 0; i < n; ++i) out[i] = fn(q.get(), rows.get() + i * stride, dim);
        benchmark::ClobberMemory();
      });
  state.SetLabel(table.target);
}

void register_all() {
  const DistanceKernels* active = &iqdb::kernels::active_kernels();
  for (const KernelInfo& k : kKernels) {
    for (size_t dim : kDims) {
      const std::string suffix = std::string(k.name) + "/" + std::to_string(dim);
      benchmark::RegisterBenchmark(("pair/" + suffix).c_str(), bm_pair, active, &k, dim);
      if (k.block != nullptr) {
        benchmark::RegisterBenchmark(("block/" + suffix).c_str(), bm_block, active, &k, dim);
      }
    }
  }
  for (const KernelInfo& k : kKernels) {
    for (size_t dim : kScalarDims) {
      const std::string suffix = std::string(k.name) + "/" + std::to_string(dim) +
                                 "/batch:" + std::to_string(kScalarBatch);
      benchmark::RegisterBenchmark(("vs_scalar/pair/" + suffix).c_str(), bm_pair_vs_scalar, &k, dim)
          ->UseManualTime();
      if (k.block != nullptr) {
        benchmark::RegisterBenchmark(("vs_scalar/block/" + suffix).c_str(), bm_block_vs_scalar, &k,
                                     dim)
            ->UseManualTime();
      }
    }
  }
  for (const KernelInfo& k : kKernels) {
    if (k.gather == nullptr) continue;
    for (size_t dim : kDims) {
      const std::string name = "gather/" + std::string(k.name) + "/" + std::to_string(dim);
      benchmark::RegisterBenchmark(name.c_str(), bm_gather, active, &k, dim);
    }
  }
  const KernelInfo* l2 = &kKernels[0];
  for (const DistanceKernels* table : iqdb::kernels::runnable_kernels()) {
    const std::string target = table->target;
    benchmark::RegisterBenchmark(("targets/l2_squared_pair/784/" + target).c_str(), bm_pair, table,
                                 l2, size_t{784});
    benchmark::RegisterBenchmark(("targets/l2_squared_block/784/" + target).c_str(), bm_block,
                                 table, l2, size_t{784});
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("iqdb_kernels_target", iqdb::kernels::active_kernels().target);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
