// The IVF section: iqdb IVF-Flat (over f32 rows, u8 rows when the values
// are whole bytes, and f16 rows reranked on f32), IVF-PQ 8-bit and IVF-PQ
// 4-bit fast scan (each PQ with exact refine) against FAISS IndexIVFFlat and
// IndexIVFPQFastScan + IndexRefineFlat (Debian's generic x86-64 build), all
// with 256 lists, built on 2 threads, searched one query at a time on one
// thread while sweeping n_probes and the refine factor.
//
// iqdb is driven through Database, as an application would: one database
// per refine factor (the factor is part of the stored configuration), the
// probes per query through SearchParams::n_probes. "build s" is the one
// upsert_batch that loads the rows, trains and fills the lists;
// "bytes/vector" is the resident growth over it (rows, lists and codes),
// FAISS's its arrays (list copy or refine copy of the rows included), so
// that every index is charged for the vectors its exact distances need.
//
// The targets are ratios against hnswlib-native M=16 (ef_construction 200,
// 2 build threads, one search thread) measured in the same run: the section
// reuses the hnsw section's curve when it ran, and otherwise builds hnswlib
// itself under the same name.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "ann/ann.h"
#include "ann/peers.h"
#include "iqdb/iqdb.hpp"

namespace iqdb::bench {
namespace {

constexpr size_t kLists = 256;
constexpr size_t kFastScanSubquantizers = 392;  // 2 dimensions each on 784
const size_t kFlatProbes[] = {1, 2, 3, 4, 6, 8, 12, 16, 24, 32};
const size_t kPqProbes[] = {1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64};
const size_t kPq8Probes[] = {1, 2, 4, 8, 16, 32};
const size_t kPeerProbes[] = {1, 2, 4, 6, 8, 12, 16, 32};
const size_t kRefines[] = {2, 4, 8};
// hnswlib reference: the ef values that bracket recall@10 0.95 and 0.99.
const std::vector<size_t> kHnswlibEfs = {10, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256};
constexpr size_t kHnswlibM = 16;
constexpr size_t kBuildThreads = 2;

const char* const kFlatName = "iqdb-ivf256-flat";
// The same IVF-Flat over compact stores: u8 rows (exact for these pixels,
// a quarter of the bytes per probe) and f16 rows reranked on kept f32 rows.
const char* const kFlatU8Name = "iqdb-ivf256-flat-u8rows";
const char* const kFlatF16Name = "iqdb-ivf256-flat-f16rows+f32rerank";
const char* const kPq4Name = "iqdb-ivf256-pq392x4fs+refine";
const char* const kPq8Name = "iqdb-ivf256-pq196x8+refine";
const std::string kFaissFlatName = std::string(kFaissLabel) + " IVF256,Flat";
const std::string kFaissPq4Name = std::string(kFaissLabel) + " IVF256,PQ392x4fs,RFlat";

void sweep_iqdb(const Dataset& ds, const char* name, IvfConfig::Pq pq,
                std::span<const size_t> probes, std::span<const size_t> refines, Report& report,
                VectorStorage storage = {}) {
  std::vector<VectorId> ids;
  for (size_t i = 0; i < ds.base_rows; ++i) ids.emplace_back(i);
  for (size_t refine : refines) {
    const size_t before = resident_bytes();
    const auto t = std::chrono::steady_clock::now();
    auto db = Database::open_in_memory(
        Config(ds.dim, Metric::kL2)
            .write_threads(std::thread::hardware_concurrency())
            .storage(storage)
            .index(IvfConfig{}.with_n_clusters(kLists).with_pq(pq).with_refine_factor(refine)));
    if (!db || !db->upsert_batch(ids, ds.base).ok()) {
      std::printf("  %s: build failed\n", name);
      return;
    }
    const double build_s = seconds_since(t);
    const double bytes = double(resident_bytes() - before) / double(ds.base_rows);
    std::printf("  %s refine %zu: built in %.2f s, %.0f bytes/vector\n", name, refine, build_s,
                bytes);
    for (size_t p : probes) {
      std::vector<std::vector<uint32_t>> found(ds.query_rows);
      SearchParams params;
      params.k = kRecallK;
      params.n_probes = p;
      bool ok = true;
      const double qps = median_qps(ds, 3, [&](size_t q) {
        auto hits = db->search(std::span<const float>(ds.query(q), ds.dim), params);
        found[q].clear();
        if (!hits) {
          ok = false;
          return;
        }
        for (const Hit& h : *hits) found[q].push_back(static_cast<uint32_t>(h.id.as_u64()));
      });
      if (!ok) {
        std::printf("  %s: search failed\n", name);
        return;
      }
      std::string label = "probes=" + std::to_string(p);
      if (pq != IvfConfig::Pq::kNone || storage.lossy())
        label += ",refine=" + std::to_string(refine);
      report.add({name, label, recall_at_10(ds, found), qps, build_s, bytes});
    }
  }
}

bool whole_bytes(const Dataset& ds) {
  return std::all_of(ds.base.begin(), ds.base.end(),
                     [](float v) { return v >= 0 && v <= 255 && v == std::floor(v); });
}

void sweep_faiss(const Dataset& ds, const std::string& name, std::unique_ptr<PeerIndex> peer,
                 std::span<const size_t> probes, std::span<const size_t> refines, Report& report) {
  const auto t = std::chrono::steady_clock::now();
  peer->build(ds.base.data(), ds.base_rows, ds.dim);
  const double build_s = seconds_since(t);
  const double bytes = double(peer->memory_bytes()) / double(ds.base_rows);
  std::printf("  %s: train+add %.2f s, %.0f bytes/vector\n", name.c_str(), build_s, bytes);
  for (size_t refine : refines) {
    peer->set_refine_factor(refine);
    for (size_t p : probes) {
      peer->set_search_knob(p);
      std::vector<std::vector<uint32_t>> found(ds.query_rows);
      const double qps =
          median_qps(ds, 3, [&](size_t q) { peer->search(ds.query(q), kRecallK, found[q]); });
      std::string params = "probes=" + std::to_string(p);
      if (refines.size() > 1 || refine != 0) params += ",refine=" + std::to_string(refine);
      report.add({name, params, recall_at_10(ds, found), qps, build_s, bytes});
    }
  }
}

void add_ratio(Report& report, const std::string& label, double ours, double theirs,
               double target) {
  report.ratio(label, theirs > 0 ? ours / theirs : 0, target);
}

}  // namespace

void run_ivf_section(const Dataset& ds, Report& report) {
  std::printf(
      "[ivf] %s, IVF%zu: iqdb Flat / PQ 8-bit / PQ 4-bit fast scan (+exact refine) vs FAISS, "
      "2 build threads, one search thread\n",
      ds.name.c_str(), kLists);
  const size_t flat_refine[] = {1};  // IVF-Flat scores exactly: no refine
  sweep_iqdb(ds, kFlatName, IvfConfig::Pq::kNone, kFlatProbes, flat_refine, report);
  const bool u8_rows = whole_bytes(ds);
  if (u8_rows) {
    sweep_iqdb(ds, kFlatU8Name, IvfConfig::Pq::kNone, kFlatProbes, flat_refine, report,
               VectorStorage::u8());
  } else {
    std::printf("  u8 rows: not for this dataset (values are not whole numbers 0..255)\n");
  }
  const size_t f16_refine[] = {2};
  sweep_iqdb(ds, kFlatF16Name, IvfConfig::Pq::kNone, kFlatProbes, f16_refine, report,
             VectorStorage::f16(true));
  sweep_iqdb(ds, kPq4Name, IvfConfig::Pq::k4BitFastScan, kPqProbes, kRefines, report);
  const size_t pq8_refine[] = {4};
  sweep_iqdb(ds, kPq8Name, IvfConfig::Pq::k8Bit, kPq8Probes, pq8_refine, report);

  const bool faiss = faiss_available();
  if (faiss) {
    const size_t no_refine[] = {0};
    // Debian's generic FAISS is slow to search; fewer points keep the run short.
    sweep_faiss(ds, kFaissFlatName, make_faiss_ivf_flat(kLists), kPeerProbes, no_refine, report);
    sweep_faiss(ds, kFaissPq4Name, make_faiss_ivfpq_fastscan_refine(kLists, kFastScanSubquantizers),
                kPeerProbes, kRefines, report);
  } else {
    std::printf("  FAISS: not compiled into this build (peers option)\n");
  }

  // Against hnswlib-native M=16, measured in this run.
  const std::string hnswlib = hnswlib_curve(kHnswlibM);
  if (!report.has_curve(hnswlib) && hnswlib_available())
    sweep_hnswlib(ds, kHnswlibM, kHnswlibEfs, kBuildThreads, report);
  char label[200];
  if (report.has_curve(hnswlib)) {
    for (double recall : {0.95, 0.99}) {
      std::snprintf(label, sizeof label,
                    "IVF-PQ4fs+refine QPS / hnswlib-native M=16 QPS at recall@10 %.2f", recall);
      add_ratio(report, label, report.qps_at_recall(kPq4Name, recall),
                report.qps_at_recall(hnswlib, recall), recall == 0.99 ? 1.5 : 0);
      std::snprintf(label, sizeof label,
                    "IVF-Flat (f32 rows) QPS / hnswlib-native M=16 QPS at recall@10 %.2f", recall);
      add_ratio(report, label, report.qps_at_recall(kFlatName, recall),
                report.qps_at_recall(hnswlib, recall), 0);
      if (u8_rows) {
        std::snprintf(label, sizeof label,
                      "IVF-Flat (u8 rows) QPS / hnswlib-native M=16 QPS at recall@10 %.2f", recall);
        add_ratio(report, label, report.qps_at_recall(kFlatU8Name, recall),
                  report.qps_at_recall(hnswlib, recall), 0);
      }
    }
  } else {
    std::printf(
        "  hnswlib: not compiled into this build (peers option): no IVF / hnswlib ratios\n");
  }

  // Against Debian's generic FAISS in this run.
  if (faiss) {
    for (double recall : {0.95, 0.99}) {
      std::snprintf(label, sizeof label,
                    "IVF-Flat QPS iqdb / FAISS (Debian build, generic x86-64) at recall@10 %.2f",
                    recall);
      add_ratio(report, label, report.qps_at_recall(kFlatName, recall),
                report.qps_at_recall(kFaissFlatName, recall), 0);
      std::snprintf(
          label, sizeof label,
          "IVF-PQ4fs+refine QPS iqdb / FAISS (Debian build, generic x86-64) at recall@10 %.2f",
          recall);
      add_ratio(report, label, report.qps_at_recall(kPq4Name, recall),
                report.qps_at_recall(kFaissPq4Name, recall), 0);
    }
  }
}

}  // namespace iqdb::bench
