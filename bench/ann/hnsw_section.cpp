// The graph section: iqdb HNSW (through Database::search) against hnswlib
// compiled with -march=native, at M = 16 and 32, ef_construction 200, both
// built with 2 threads, searched on one thread while sweeping ef.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <thread>

#include "ann/ann.h"
#include "ann/peers.h"
#include "iqdb/iqdb.hpp"

namespace iqdb::bench {
namespace {

const std::vector<size_t> kEfs = {10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512};
constexpr size_t kBuildThreads = 2;

// `storage` other than f32 names the curve "iqdb-hnsw M=16 u8" and so on;
// a walk on the f32 rows (no 8-bit copy) adds " f32-walk".
void sweep_iqdb(const Dataset& ds, size_t m, Report& report, VectorStorage storage = {},
                bool quantized_walk = true) {
  std::string name = "iqdb-hnsw M=" + std::to_string(m);
  if (storage.type != StorageType::kF32) {
    name += std::string(" ") + storage_type_name(storage.type) + (storage.keep_f32 ? "+f32" : "");
  }
  if (!quantized_walk) name += " f32-walk";
  auto before = resident_bytes();
  auto t = std::chrono::steady_clock::now();
  auto db = Database::open_in_memory(
      Config(ds.dim, Metric::kL2)
          .write_threads(std::thread::hardware_concurrency())
          .storage(storage)
          .index(HnswConfig{}.with_m(m).with_ef_construction(200).with_quantized_walk(
              quantized_walk)));
  std::vector<VectorId> ids;
  for (size_t i = 0; i < ds.base_rows; ++i) ids.emplace_back(i);
  if (!db || !db->upsert_batch(ids, ds.base).ok()) {
    std::printf("  %s: build failed\n", name.c_str());
    return;
  }
  const double build_s = seconds_since(t);
  const double bytes = double(resident_bytes() - before) / double(ds.base_rows);
  std::printf("  %s built in %.2f s (%.0f bytes/vector)\n", name.c_str(), build_s, bytes);
  for (size_t ef : kEfs) {
    std::vector<std::vector<uint32_t>> found(ds.query_rows);
    SearchParams p;
    p.k = kRecallK;
    p.ef = ef;
    double qps = median_qps(ds, 3, [&](size_t q) {
      auto hits = db->search(std::span<const float>(ds.query(q), ds.dim), p);
      found[q].clear();
      for (const Hit& h : *hits) found[q].push_back(static_cast<uint32_t>(h.id.as_u64()));
    });
    report.add({name, "ef=" + std::to_string(ef), recall_at_10(ds, found), qps, build_s, bytes});
  }
}

double build_seconds(const Report& report, const std::string& index) {
  const Point* p = report.first_point(index);
  return p != nullptr ? p->build_s : 0;
}

double bytes_per_vector(const Report& report, const std::string& index) {
  const Point* p = report.first_point(index);
  return p != nullptr ? p->bytes_per_vector : 0;
}

// u8 rows hold whole numbers 0..255 only.
bool whole_bytes(const Dataset& ds) {
  return std::all_of(ds.base.begin(), ds.base.end(),
                     [](float v) { return v >= 0 && v <= 255 && v == std::floor(v); });
}

}  // namespace

void run_hnsw_section(const Dataset& ds, Report& report) {
  std::printf("[hnsw] %s: graph search, ef swept, %zu build threads, one search thread\n",
              ds.name.c_str(), kBuildThreads);
  for (size_t m : {size_t{16}, size_t{32}}) {
    sweep_iqdb(ds, m, report);
    if (!hnswlib_available()) {
      std::printf("  hnswlib: not compiled into this build (peers option)\n");
      continue;
    }
    sweep_hnswlib(ds, m, kEfs, kBuildThreads, report);
    const std::string ours = "iqdb-hnsw M=" + std::to_string(m);
    const std::string theirs = hnswlib_curve(m);
    for (double recall : {0.95, 0.99}) {
      double a = report.qps_at_recall(ours, recall), b = report.qps_at_recall(theirs, recall);
      char label[128];
      std::snprintf(label, sizeof label, "HNSW M=%zu QPS iqdb / hnswlib-native at recall@10 %.2f",
                    m, recall);
      report.ratio(label, b > 0 ? a / b : 0, 3.0);
    }
    char label[128];
    std::snprintf(label, sizeof label, "HNSW M=%zu build time hnswlib-native / iqdb (2 threads)",
                  m);
    double ib = build_seconds(report, ours), hb = build_seconds(report, theirs);
    report.ratio(label, ib > 0 ? hb / ib : 0, 2.0);
    std::snprintf(label, sizeof label, "HNSW M=%zu memory hnswlib-native / iqdb (bytes per vector)",
                  m);
    double im = bytes_per_vector(report, ours), hm = bytes_per_vector(report, theirs);
    report.ratio(label, im > 0 ? hm / im : 0, 1.0);
  }
  // The graph walked on the f32 rows themselves: memory against hnswlib's.
  if (hnswlib_available()) {
    sweep_iqdb(ds, 16, report, VectorStorage::f32(), false);
    const std::string ours = "iqdb-hnsw M=16 f32-walk", theirs = hnswlib_curve(16);
    for (double recall : {0.95, 0.99}) {
      const double a = report.qps_at_recall(ours, recall), b = report.qps_at_recall(theirs, recall);
      char label[128];
      std::snprintf(label, sizeof label,
                    "HNSW M=16 f32-walk QPS iqdb / hnswlib-native at recall@10 %.2f", recall);
      report.ratio(label, b > 0 ? a / b : 0);
    }
    const double im = bytes_per_vector(report, ours), hm = bytes_per_vector(report, theirs);
    report.ratio("HNSW M=16 f32-walk memory hnswlib-native / iqdb (bytes per vector)",
                 im > 0 ? hm / im : 0, 1.0);
  }
  // The same graph over compact rows: u8 (exact for these pixels, walked on
  // the rows themselves) and SQ8 codes with f32 rerank rows, against the f32
  // store (whose walk runs on the index's own SQ8 copy) at equal recall.
  const std::string f32 = "iqdb-hnsw M=16";
  std::vector<VectorStorage> compact = {VectorStorage::sq8(true)};
  if (whole_bytes(ds)) {
    compact.insert(compact.begin(), VectorStorage::u8());
  } else {
    std::printf("  u8 rows: not for this dataset (values are not whole numbers 0..255)\n");
  }
  for (VectorStorage storage : compact) {
    sweep_iqdb(ds, 16, report, storage);
    const std::string name =
        f32 + " " + storage_type_name(storage.type) + (storage.keep_f32 ? "+f32" : "");
    for (double recall : {0.95, 0.99}) {
      const double a = report.qps_at_recall(name, recall), b = report.qps_at_recall(f32, recall);
      report.ratio("HNSW M=16 QPS " + name.substr(f32.size() + 1) +
                       " rows / f32 rows at recall@10 " + (recall == 0.95 ? "0.95" : "0.99"),
                   b > 0 ? a / b : 0);
    }
    const double bf = bytes_per_vector(report, f32), bt = bytes_per_vector(report, name);
    report.ratio("HNSW M=16 bytes/vector " + name.substr(f32.size() + 1) + " / f32",
                 bf > 0 ? bt / bf : 0);
  }
}

}  // namespace iqdb::bench
