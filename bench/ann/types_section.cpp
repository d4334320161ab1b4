// The storage-types section: exact search on every row type, and batched
// exact search against FAISS.
//
//  1. Flat search, one query at a time on one thread, for each storage type
//     (f32, u8, f16, bf16, SQ8; the lossy ones with and without the f32
//     rerank) against the streaming-read bound of that type's rows, measured
//     in the same run, and the u8 / f32 speed-up the issue asks for.
//  2. Batched flat search (index::flat_search_batch) on 1 and 2 threads
//     against FAISS IndexFlatL2 (Debian's generic x86-64 build) answering
//     the same batch in one call (BLAS),
//     and as a fraction of the FMA peak measured on the spot.
//  3. Memory per vector of each type.
//
// Stores are built directly (index::VectorStore): the storage type is not yet
// wired into Database.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "ann/ann.h"
#include "ann/peers.h"
#include "index/flat.h"
#include "index/flat_batch.h"
#include "index/scorer.h"
#include "index/vector_store.h"
#include "kernels/gemm.h"

namespace iqdb::bench {
namespace {

// Queries per single-query timing: the f32 scan is slow, and the ratios
// settle long before 1000.
constexpr size_t kSingleQueries = 200;
constexpr int kRepeats = 3;

// Bytes per second of one thread streaming through `bytes` (median).
double stream_bytes_per_second(const void* data, size_t bytes) {
  const auto* words = static_cast<const uint64_t*>(data);
  const size_t n = bytes / sizeof(uint64_t);
  std::vector<double> rates;
  uint64_t sink = 0;
  for (int r = 0; r < 7; ++r) {
    auto t = std::chrono::steady_clock::now();
    uint64_t acc[8] = {};
    for (size_t i = 0; i + 8 <= n; i += 8) {
      for (int j = 0; j < 8; ++j) acc[j] ^= words[i + size_t(j)];
    }
    for (uint64_t a : acc) sink ^= a;
    rates.push_back(double(bytes) / seconds_since(t));
  }
  std::sort(rates.begin(), rates.end());
  if (sink == 42) std::printf(" ");
  return rates[rates.size() / 2];
}

// FLOP/s of `threads` threads each running the FMA probe.
double fma_peak(size_t threads) {
  const kernels::GemmKernels& g = kernels::active_gemm_kernels();
  const size_t iterations = 20'000'000;
  std::vector<double> best(threads, 0);
  for (int r = 0; r < 3; ++r) {
    std::vector<std::thread> pool;
    std::vector<double> rate(threads);
    for (size_t t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        auto start = std::chrono::steady_clock::now();
        const float v = g.fma_probe(iterations);
        rate[t] = double(iterations) * double(g.fma_probe_flops) / seconds_since(start);
        if (v == 42.0f) std::printf(" ");
      });
    }
    for (auto& th : pool) th.join();
    for (size_t t = 0; t < threads; ++t) best[t] = std::max(best[t], rate[t]);
  }
  double total = 0;
  for (double b : best) total += b;
  return total;
}

struct TypeRun {
  std::string name;
  VectorStorage storage;
};

std::string label(const VectorStorage& s) {
  return std::string(storage_type_name(s.type)) + (s.keep_f32 ? "+f32" : "");
}

double recall_on(const Dataset& ds, const std::vector<std::vector<uint32_t>>& found, size_t n) {
  size_t agree = 0;
  for (size_t q = 0; q < n; ++q) {
    for (size_t j = 0; j < std::min(found[q].size(), kRecallK); ++j) {
      const uint32_t* t = ds.truth.data() + q * kRecallK;
      agree += std::count(t, t + kRecallK, found[q][j]) > 0 ? 1 : 0;
    }
  }
  return double(agree) / double(n * kRecallK);
}

// Median QPS of `fn(q)` over the first n queries.
template <class Fn>
double single_qps(size_t n, Fn&& fn) {
  std::vector<double> qps;
  for (int r = 0; r < kRepeats; ++r) {
    auto t = std::chrono::steady_clock::now();
    for (size_t q = 0; q < n; ++q) fn(q);
    qps.push_back(double(n) / seconds_since(t));
  }
  std::sort(qps.begin(), qps.end());
  return qps[qps.size() / 2];
}

index::VectorStore build_store(const Dataset& ds, const VectorStorage& storage, double* build_s) {
  auto t = std::chrono::steady_clock::now();
  index::VectorStore store(ds.dim, Metric::kL2, storage);
  for (size_t i = 0; i < ds.base_rows; ++i) {
    auto r = store.upsert(VectorId(uint64_t{i}),
                          std::span<const float>(ds.base.data() + i * ds.dim, ds.dim), nullptr);
    if (!r) {
      std::printf("  %s: upsert failed: %s\n", label(storage).c_str(),
                  r.status().to_string().c_str());
      break;
    }
  }
  *build_s = seconds_since(t);
  return store;
}

void single_query_flat(const Dataset& ds, Report& report) {
  const size_t nq = std::min(kSingleQueries, ds.query_rows);
  std::printf("  bound: one thread streaming through the same rows or codes, timed just before\n");
  std::printf("  %-10s %9s %9s %7s %8s %12s %8s\n", "type", "QPS", "bound", "of it", "recall",
              "bytes/vector", "GB/s");
  const std::vector<VectorStorage> types = {VectorStorage::f32(),  VectorStorage::u8(),
                                            VectorStorage::f16(),  VectorStorage::f16(true),
                                            VectorStorage::bf16(), VectorStorage::bf16(true),
                                            VectorStorage::sq8(),  VectorStorage::sq8(true)};
  double f32_qps = 0, u8_qps = 0;
  for (const VectorStorage& s : types) {
    double build_s = 0;
    index::VectorStore store = build_store(ds, s, &build_s);
    // The bytes a scan streams: code rows when there are codes (the lossy
    // rerank reads a few f32 rows more), else f32 rows.
    const void* scanned = store.has_codes() ? static_cast<const void*>(store.codes_base())
                                            : static_cast<const void*>(store.rows_base());
    const size_t scanned_bytes =
        ds.base_rows *
        (store.has_codes() ? store.code_stride_bytes() : store.stride_floats() * sizeof(float));
    const double bandwidth = stream_bytes_per_second(scanned, scanned_bytes);
    const double bound = bandwidth / double(scanned_bytes);
    std::vector<std::vector<uint32_t>> found(nq);
    const double qps = single_qps(nq, [&](size_t q) {
      auto top = index::flat_search(index::QueryScorer(store, ds.query(q)), kRecallK, nullptr);
      found[q].clear();
      for (const auto& c : top) found[q].push_back(c.slot);  // slot == id: inserted in order
    });
    const double recall = recall_on(ds, found, nq);
    const double bytes = double(store.vector_bytes_per_slot());
    std::printf("  %-10s %9.0f %9.0f %6.0f%% %8.4f %12.0f %8.1f\n", label(s).c_str(), qps, bound,
                100 * qps / bound, recall, bytes, bandwidth / 1e9);
    report.add({"iqdb-flat-" + label(s), "single query", recall, qps, build_s, bytes});
    report.ratio("iqdb flat " + label(s) + " QPS / its streaming-read bound", qps / bound);
    if (s.type == StorageType::kF32) f32_qps = qps;
    if (s.type == StorageType::kU8) u8_qps = qps;
  }
  std::printf("  u8 / f32 single-query QPS: %.2fx\n", u8_qps / f32_qps);
  report.ratio("iqdb flat u8 QPS / f32 flat QPS (single query)", u8_qps / f32_qps, 3.5);
}

void batched_flat(const Dataset& ds, Report& report) {
  const size_t nq = ds.query_rows;
  double build_s = 0;
  index::VectorStore f32 = build_store(ds, VectorStorage::f32(), &build_s);
  double u8_build_s = 0;
  index::VectorStore u8 = build_store(ds, VectorStorage::u8(), &u8_build_s);
  const double flops_per_batch = 2.0 * double(ds.base_rows) * double(ds.dim) * double(nq);
  std::unique_ptr<PeerIndex> faiss;
  std::printf("  batched: %zu queries per call, gemm target %s (%zu x %zu-query panels)\n", nq,
              kernels::active_gemm_kernels().target,
              kernels::active_gemm_kernels().max_panel_vectors,
              kernels::active_gemm_kernels().lanes);
  if (faiss_available())
    std::printf("  %s, BLAS: %s\n", kFaissLabel, faiss_blas_description().c_str());
  for (size_t threads : {size_t{1}, size_t{2}}) {
    const double peak = fma_peak(threads);
    index::BatchOptions options;
    options.max_threads = threads;
    auto time_batch = [&](const index::VectorStore& store, double* recall) {
      std::vector<double> secs;
      std::vector<std::vector<uint32_t>> found(nq);
      for (int r = 0; r < kRepeats; ++r) {
        auto t = std::chrono::steady_clock::now();
        auto out =
            index::flat_search_batch(store, ds.queries.data(), nq, kRecallK, nullptr, options);
        secs.push_back(seconds_since(t));
        for (size_t q = 0; q < nq; ++q) {
          found[q].clear();
          for (const auto& c : out[q]) found[q].push_back(c.slot);
        }
      }
      std::sort(secs.begin(), secs.end());
      *recall = recall_at_10(ds, found);
      return secs[secs.size() / 2];
    };
    double recall = 0, u8_recall = 0;
    const double secs = time_batch(f32, &recall);
    const double u8_secs = time_batch(u8, &u8_recall);
    const double qps = double(nq) / secs, u8_qps = double(nq) / u8_secs;
    const double gflops = flops_per_batch / secs / 1e9;
    const std::string th = "threads=" + std::to_string(threads);
    std::printf(
        "  iqdb batched f32, %zu thread(s): %.0f QPS, %.1f GFLOP/s = %.0f%% of the %.1f GFLOP/s "
        "FMA peak\n",
        threads, qps, gflops, 100 * gflops * 1e9 / peak, peak / 1e9);
    std::printf("  iqdb batched u8,  %zu thread(s): %.0f QPS\n", threads, u8_qps);
    report.add(
        {"iqdb-flat-batched-f32", th, recall, qps, build_s, double(f32.vector_bytes_per_slot())});
    report.add({"iqdb-flat-batched-u8", th, u8_recall, u8_qps, u8_build_s,
                double(u8.vector_bytes_per_slot())});
    report.ratio("iqdb batched flat GFLOP/s / FMA peak (" + th + ")", gflops * 1e9 / peak);
    if (!faiss_available()) continue;
    faiss = make_faiss_flat_batched(threads);
    auto t = std::chrono::steady_clock::now();
    faiss->build(ds.base.data(), ds.base_rows, ds.dim);
    const double faiss_build_s = seconds_since(t);
    std::vector<double> fsecs;
    std::vector<std::vector<uint32_t>> ffound;
    for (int r = 0; r < kRepeats; ++r) {
      t = std::chrono::steady_clock::now();
      faiss->search_many(ds.queries.data(), nq, ds.dim, kRecallK, ffound);
      fsecs.push_back(seconds_since(t));
    }
    std::sort(fsecs.begin(), fsecs.end());
    const double fqps = double(nq) / fsecs[fsecs.size() / 2];
    std::printf(
        "  %s IndexFlatL2 batched, %zu thread(s): %.0f QPS, %.1f GFLOP/s = %.0f%% of peak\n",
        kFaissLabel, threads, fqps, flops_per_batch / fsecs[fsecs.size() / 2] / 1e9,
        100 * flops_per_batch / fsecs[fsecs.size() / 2] / peak);
    report.add({std::string(kFaissLabel) + " IndexFlatL2 batched", th, recall_at_10(ds, ffound),
                fqps, faiss_build_s, double(faiss->memory_bytes()) / double(ds.base_rows)});
    report.ratio(
        "iqdb batched flat QPS / " + std::string(kFaissLabel) + " IndexFlatL2 batched (" + th + ")",
        qps / fqps, 1.0);
    faiss.reset();
  }
}

}  // namespace

void run_types_section(const Dataset& ds, Report& report) {
  std::printf("[types] exact search per storage type, and batched exact search\n");
  single_query_flat(ds, report);
  batched_flat(ds, report);
}

}  // namespace iqdb::bench
