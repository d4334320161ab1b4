// The exact-search section: iqdb's flat index against the memory-bandwidth
// bound measured on the spot and against FAISS IndexFlatL2 (Debian's
// generic x86-64 build).
#include <algorithm>
#include <cstdio>
#include <cstring>

#include "ann/ann.h"
#include "ann/peers.h"
#include "iqdb/iqdb.hpp"

namespace iqdb::bench {
namespace {

// Queries per second if a query cost exactly one streaming read of the base
// rows: the bound a single-query exact scan cannot beat.
double streaming_read_qps(const Dataset& ds, int repeats) {
  const auto* words = reinterpret_cast<const uint64_t*>(ds.base.data());
  const size_t n = ds.base.size() * sizeof(float) / sizeof(uint64_t);
  std::vector<double> rates;
  uint64_t sink = 0;
  for (int r = 0; r < repeats; ++r) {
    auto t = std::chrono::steady_clock::now();
    // Eight independent lanes keep the loads in flight; XOR cannot be
    // optimised away because the result is printed below.
    uint64_t acc[8] = {};
    for (size_t i = 0; i + 8 <= n; i += 8) {
      for (int j = 0; j < 8; ++j) acc[j] ^= words[i + size_t(j)];
    }
    for (uint64_t a : acc) sink ^= a;
    rates.push_back(1.0 / seconds_since(t));
  }
  std::sort(rates.begin(), rates.end());
  if (sink == 42) std::printf(" ");
  return rates[rates.size() / 2];
}

}  // namespace

void run_flat_section(const Dataset& ds, Report& report) {
  std::printf("[flat] exact search, one query at a time\n");
  const double bound_qps = streaming_read_qps(ds, 15);
  const double gbps = bound_qps * double(ds.base.size() * sizeof(float)) / 1e9;
  std::printf("  streaming read of the %zu MB of rows: %.1f GB/s, so at most %.0f QPS\n",
              ds.base.size() * sizeof(float) >> 20, gbps, bound_qps);

  auto before = resident_bytes();
  auto t = std::chrono::steady_clock::now();
  auto db = Database::open_in_memory(ds.dim, Metric::kL2);
  std::vector<VectorId> ids;
  for (size_t i = 0; i < ds.base_rows; ++i) ids.emplace_back(i);
  if (!db || !db->upsert_batch(ids, ds.base).ok()) {
    std::printf("  iqdb flat: could not load\n");
    return;
  }
  double build_s = seconds_since(t);
  double bytes = double(resident_bytes() - before) / double(ds.base_rows);
  std::vector<std::vector<uint32_t>> found(ds.query_rows);
  double qps = median_qps(ds, 3, [&](size_t q) {
    auto hits = db->search(std::span<const float>(ds.query(q), ds.dim), kRecallK);
    found[q].clear();
    for (const Hit& h : *hits) found[q].push_back(static_cast<uint32_t>(h.id.as_u64()));
  });
  report.add({"iqdb-flat", "exact", recall_at_10(ds, found), qps, build_s, bytes});
  std::printf("  iqdb flat: %.0f QPS\n", qps);
  report.ratio("iqdb flat QPS / streaming-read bound", qps / bound_qps, 0.9);

  if (faiss_available()) {
    auto faiss = make_faiss_flat();
    before = resident_bytes();
    t = std::chrono::steady_clock::now();
    faiss->build(ds.base.data(), ds.base_rows, ds.dim);
    build_s = seconds_since(t);
    std::vector<std::vector<uint32_t>> ffound(ds.query_rows);
    double fqps =
        median_qps(ds, 3, [&](size_t q) { faiss->search(ds.query(q), kRecallK, ffound[q]); });
    report.add({std::string(kFaissLabel) + " IndexFlatL2", "exact", recall_at_10(ds, ffound), fqps,
                build_s, double(faiss->memory_bytes()) / double(ds.base_rows)});
    std::printf("  %s IndexFlatL2: %.0f QPS\n", kFaissLabel, fqps);
    report.ratio(std::string("iqdb flat QPS / ") + kFaissLabel + " IndexFlatL2 (single query)",
                 qps / fqps, 4.0);
  } else {
    std::printf("  FAISS: not compiled into this build (peers option)\n");
  }
}

}  // namespace iqdb::bench
