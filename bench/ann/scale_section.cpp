// iqdb-ann --scale: how each cost grows with the number of rows.
//
// The dataset is Fashion-MNIST grown by grow.h to 60k, 250k and 1M images
// (nested: each size is a prefix of the next), and the same images under the
// rotation of rotation.h; the queries are the first test images (rotated
// alike), with exact ground truth per size from iqdb's batched flat search.
// At each size, one index at a time (so memory holds the rows plus one
// index):
//   - iqdb HNSW M=16 (ef_construction 200) and iqdb IVF-PQ 4-bit fast scan
//     (lists: the default, about sqrt(rows); refine 4), and, where rows / 256
//     is more than sqrt(rows), IVF-PQ with rows / 256 lists trained on 64
//     rows per list (from 2,048 lists its searches find the nearest lists
//     by the coarse graph, ivf_coarse.h), each a file-backed
//     Database (fsync never) loaded with one upsert_batch on the TBB pool
//     (2 threads on this machine); build time is that call;
//   - hnswlib-native M=16 (ef_construction 200), built on 2 threads.
// Bytes per vector is the resident growth over the build (rows included);
// QPS is one thread, median of 3 passes, at the smallest ef / n_probes of an
// increasing sweep that reaches recall@10 0.95 and 0.99; reopen is the
// median of 3 opens of the saved file (iqdb: Database::open of the
// snapshot after close(); hnswlib: loadIndex of saveIndex's file).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ann/ann.h"
#include "ann/grow.h"
#include "ann/peers.h"
#include "ann/rotation.h"
#include "iqdb/iqdb.hpp"

namespace iqdb::bench {
namespace {

namespace fs = std::filesystem;

constexpr size_t kBuildThreads = 2;
const size_t kSizes[] = {60'000, 250'000, 1'000'000};
const std::vector<size_t> kEfs = {10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768};
const std::vector<size_t> kProbes = {1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128};
constexpr size_t kRefine = 4;
const char* const kHnsw = "iqdb HNSW M=16";
const char* const kIvfPq = "iqdb IVF-PQ 4-bit fs, refine 4";
const char* const kIvfMany = "iqdb IVF-PQ rows/256 lists";
// The many-lists configuration: a list per 256 rows where that is more
// than sqrt(rows), trained on 64 rows per list (k-means costs rows x lists).
constexpr size_t kRowsPerList = 256, kSamplePerList = 64;
const char* const kHnswlib = "hnswlib-native M=16";

struct Row {
  std::string dataset;
  size_t n = 0;
  std::string index;
  double build_s = 0;
  double bytes_per_vector = 0;
  double qps95 = 0, qps99 = 0;  // 0: not reached
  size_t knob95 = 0, knob99 = 0;
  double reopen_ms = 0;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// Sweeps `knobs` upwards with `search(knob, q, out)` and fills the QPS at
// the first knob reaching 0.95 and 0.99; stops once 0.99 is reached.
template <class Search>
void sweep(const Dataset& qs, const std::vector<size_t>& knobs, Search&& search, Row& row) {
  // One untimed pass first: the index was just built (or loaded), and its
  // first queries would pay for cold caches and page faults.
  std::vector<uint32_t> scratch;
  for (size_t q = 0; q < qs.query_rows; ++q) search(knobs.front(), q, scratch);
  for (size_t knob : knobs) {
    std::vector<std::vector<uint32_t>> found(qs.query_rows);
    const double qps = median_qps(qs, 3, [&](size_t q) { search(knob, q, found[q]); });
    const double recall = recall_at_10(qs, found);
    std::printf("    %-32s knob %4zu  recall@10 %.4f  %8.0f QPS\n", row.index.c_str(), knob, recall,
                qps);
    std::fflush(stdout);
    if (recall >= 0.95 && row.knob95 == 0) {
      row.knob95 = knob;
      row.qps95 = qps;
    }
    if (recall >= 0.99) {
      row.knob99 = knob;
      row.qps99 = qps;
      return;
    }
  }
}

// iqdb through a file-backed Database: build, sweep, close, reopen.
Status measure_iqdb(const Dataset& qs, const float* base, size_t n, const Config& config,
                    const std::vector<size_t>& knobs, bool hnsw, const fs::path& dir, Row& row) {
  const fs::path path = dir / "scale.iqdb";
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir);
  std::vector<VectorId> ids;
  ids.reserve(n);
  for (size_t i = 0; i < n; ++i) ids.emplace_back(i);
  {
    const size_t before = resident_bytes();
    const auto t = std::chrono::steady_clock::now();
    auto db = Database::open(path, config);
    if (!db) return db.status();
    IQDB_RETURN_IF_ERROR(db->upsert_batch(ids, std::span<const float>(base, n * qs.dim)));
    row.build_s = seconds_since(t);
    row.bytes_per_vector = double(resident_bytes() - before) / double(n);
    std::printf("  %s: built in %.1f s, %.0f bytes/vector\n", row.index.c_str(), row.build_s,
                row.bytes_per_vector);
    Status failed = Status::OK();
    sweep(
        qs, knobs,
        [&](size_t knob, size_t q, std::vector<uint32_t>& out) {
          SearchParams p;
          p.k = kRecallK;
          (hnsw ? p.ef : p.n_probes) = knob;
          auto hits = db->search(std::span<const float>(qs.query(q), qs.dim), p);
          out.clear();
          if (!hits) {
            failed = hits.status();
            return;
          }
          for (const Hit& h : *hits) out.push_back(static_cast<uint32_t>(h.id.as_u64()));
        },
        row);
    IQDB_RETURN_IF_ERROR(failed);
    IQDB_RETURN_IF_ERROR(db->close());
  }
  std::vector<double> ms;
  for (int r = 0; r < 3; ++r) {
    const auto t = std::chrono::steady_clock::now();
    auto db = Database::open(path, config);
    if (!db) return db.status();
    ms.push_back(seconds_since(t) * 1e3);
    (void)db->close();
  }
  row.reopen_ms = median(ms);
  std::printf("  %s: snapshot %.0f MB, reopen %.1f ms\n", row.index.c_str(),
              double(fs::file_size(path, ec)) / 1e6, row.reopen_ms);
  fs::remove_all(dir, ec);
  return Status::OK();
}

Status measure_hnswlib(const Dataset& qs, const float* base, size_t n, const fs::path& dir,
                       Row& row) {
  std::error_code ec;
  fs::create_directories(dir);
  const std::string path = (dir / "scale.hnswlib").string();
  {
    const size_t before = resident_bytes();
    auto index = make_hnswlib(16, 200, kBuildThreads);
    const auto t = std::chrono::steady_clock::now();
    index->build(base, n, qs.dim);
    row.build_s = seconds_since(t);
    row.bytes_per_vector = double(resident_bytes() - before) / double(n);
    std::printf("  %s: built in %.1f s, %.0f bytes/vector\n", row.index.c_str(), row.build_s,
                row.bytes_per_vector);
    sweep(
        qs, kEfs,
        [&](size_t ef, size_t q, std::vector<uint32_t>& out) {
          index->set_search_knob(std::max(ef, kRecallK));
          index->search(qs.query(q), kRecallK, out);
        },
        row);
    if (!index->save(path)) return Status::IOError("hnswlib could not save " + path);
  }
  std::vector<double> ms;
  for (int r = 0; r < 3; ++r) {
    auto index = make_hnswlib(16, 200, 1);
    const auto t = std::chrono::steady_clock::now();
    if (!index->load(path, qs.dim)) return Status::IOError("hnswlib could not load " + path);
    ms.push_back(seconds_since(t) * 1e3);
  }
  row.reopen_ms = median(ms);
  std::printf("  %s: file %.0f MB, load %.1f ms\n", row.index.c_str(),
              double(fs::file_size(path, ec)) / 1e6, row.reopen_ms);
  fs::remove_all(dir, ec);
  return Status::OK();
}

const Row* find(const std::vector<Row>& rows, const std::string& dataset, size_t n,
                const std::string& index) {
  for (const Row& r : rows) {
    if (r.dataset == dataset && r.n == n && r.index == index) return &r;
  }
  return nullptr;
}

double ratio(double a, double b) { return b > 0 ? a / b : 0; }

void print_summary(const std::vector<Row>& rows, const std::vector<std::string>& datasets,
                   const std::vector<size_t>& sizes) {
  std::printf(
      "\nscale: QPS on one thread at the smallest ef / n_probes reaching the recall; "
      "build on %zu threads\n",
      kBuildThreads);
  for (const std::string& d : datasets) {
    std::printf("\n%s\n%9s %-32s %9s %12s %16s %16s %11s\n", d.c_str(), "rows", "index", "build s",
                "bytes/vector", "QPS@0.95 (knob)", "QPS@0.99 (knob)", "reopen ms");
    for (size_t n : sizes) {
      for (const char* index : {kHnsw, kIvfPq, kIvfMany, kHnswlib}) {
        const Row* r = find(rows, d, n, index);
        if (r == nullptr) continue;
        std::printf("%9zu %-32s %9.1f %12.0f %9.0f (%4zu) %9.0f (%4zu) %11.1f\n", n, index,
                    r->build_s, r->bytes_per_vector, r->qps95, r->knob95, r->qps99, r->knob99,
                    r->reopen_ms);
      }
    }
    std::printf(
        "\n  ratios against hnswlib-native at each size (QPS: iqdb / hnswlib; build: "
        "hnswlib / iqdb)\n");
    for (size_t n : sizes) {
      const Row* peer = find(rows, d, n, kHnswlib);
      if (peer == nullptr) continue;
      for (const char* index : {kHnsw, kIvfPq, kIvfMany}) {
        const Row* r = find(rows, d, n, index);
        if (r == nullptr) continue;
        std::printf("  %9zu %-32s QPS@0.95 %5.2fx  QPS@0.99 %5.2fx  build %5.2fx  memory %5.2fx\n",
                    n, index, ratio(r->qps95, peer->qps95), ratio(r->qps99, peer->qps99),
                    ratio(peer->build_s, r->build_s),
                    ratio(peer->bytes_per_vector, r->bytes_per_vector));
      }
    }
    if (sizes.size() < 2) continue;
    const size_t lo = sizes.front(), hi = sizes.back();
    std::printf("\n  growth from %zu to %zu rows (x%.2f rows)\n", lo, hi, double(hi) / double(lo));
    for (const char* index : {kHnsw, kIvfPq, kIvfMany, kHnswlib}) {
      const Row* a = find(rows, d, lo, index);
      const Row* b = find(rows, d, hi, index);
      if (a == nullptr || b == nullptr) continue;
      std::printf(
          "  %-32s build x%.2f (per row x%.2f)  bytes/vector x%.2f  QPS@0.95 x%.2f  "
          "QPS@0.99 x%.2f  reopen x%.2f\n",
          index, ratio(b->build_s, a->build_s),
          ratio(b->build_s / double(hi), a->build_s / double(lo)),
          ratio(b->bytes_per_vector, a->bytes_per_vector), ratio(b->qps95, a->qps95),
          ratio(b->qps99, a->qps99), ratio(b->reopen_ms, a->reopen_ms));
    }
  }
}

}  // namespace

Status run_scale(const std::string& data_dir, const ScaleOptions& options) {
  auto fm = dataset::load_fashion_mnist(data_dir);
  if (!fm) return fm.status();
  std::vector<size_t> sizes = options.sizes;
  if (sizes.empty()) {
    for (size_t n : kSizes) {
      if (n <= options.max_rows) sizes.push_back(n);
    }
    if (sizes.empty() || sizes.back() < options.max_rows) sizes.push_back(options.max_rows);
  }
  const size_t dim = fm->dim, sources = fm->train_rows();
  const size_t side = 28;
  if (dim != side * side) return Status::InvalidArgument("expected 28 x 28 images");
  const size_t max_rows = std::min(sizes.back(), sources * (1 + kGrowTransforms));
  while (!sizes.empty() && sizes.back() > max_rows) sizes.pop_back();
  if (sizes.empty() || sizes.back() < max_rows) sizes.push_back(max_rows);

  auto t = std::chrono::steady_clock::now();
  std::vector<float> base;
  {
    const std::vector<uint8_t> grown = grow_images(fm->train, sources, side, max_rows, kGrowSeed);
    base.assign(grown.begin(), grown.end());
  }
  fm->train.clear();
  fm->train.shrink_to_fit();
  Dataset qs;  // the queries and, per size, their ground truth; no base rows
  qs.dim = dim;
  qs.query_rows = std::min(options.queries, fm->test_rows());
  qs.queries.assign(fm->test.begin(), fm->test.begin() + ptrdiff_t(qs.query_rows * dim));
  std::printf(
      "scale: Fashion-MNIST grown to %zu images (shifts of 1-2 px, mirror) in %.1f s; "
      "%zu test images as queries\n",
      max_rows, seconds_since(t), qs.query_rows);

  const fs::path dir = fs::temp_directory_path() / ("iqdb-ann-scale-" + std::to_string(getpid()));
  std::vector<Row> rows;
  std::vector<std::string> datasets;
  for (const bool rotated : {false, true}) {
    if (rotated && !options.rotated) break;
    if (rotated) {
      t = std::chrono::steady_clock::now();
      const Rotation rotation = Rotation::random(dim, kRotationSeed);
      rotation.apply_in_place(base.data(), max_rows, kBuildThreads);
      rotation.apply_in_place(qs.queries.data(), qs.query_rows, kBuildThreads);
      std::printf("\nrotated the %zu images and the queries in %.1f s\n", max_rows,
                  seconds_since(t));
    }
    if (!rotated && !options.plain) continue;
    qs.name = rotated ? "grown Fashion-MNIST rotated" : "grown Fashion-MNIST";
    datasets.push_back(qs.name);
    for (size_t n : sizes) {
      qs.base_rows = n;
      t = std::chrono::steady_clock::now();
      IQDB_RETURN_IF_ERROR(compute_truth(base.data(), n, qs));
      std::printf("\n[scale] %s, %zu rows: exact ground truth (batched flat) in %.1f s\n",
                  qs.name.c_str(), n, seconds_since(t));
      std::fflush(stdout);
      if (options.hnsw) {
        Row hnsw{qs.name, n, kHnsw};
        IQDB_RETURN_IF_ERROR(measure_iqdb(qs, base.data(), n,
                                          Config(dim, Metric::kL2)
                                              .write_threads(std::thread::hardware_concurrency())
                                              .index(HnswConfig{}.with_m(16))
                                              .fsync(FsyncPolicy::never()),
                                          kEfs, true, dir, hnsw));
        rows.push_back(hnsw);
      }
      if (options.ivf) {
        Row ivf{qs.name, n, kIvfPq};
        IQDB_RETURN_IF_ERROR(measure_iqdb(
            qs, base.data(), n,
            Config(dim, Metric::kL2)
                .write_threads(std::thread::hardware_concurrency())
                .index(
                    IvfConfig{}.with_pq(IvfConfig::Pq::k4BitFastScan).with_refine_factor(kRefine))
                .fsync(FsyncPolicy::never()),
            kProbes, false, dir, ivf));
        rows.push_back(ivf);
      }
      const size_t many_lists = n / kRowsPerList;
      if (options.ivf_many && many_lists * many_lists > n) {
        Row ivf{qs.name, n, kIvfMany};
        IQDB_RETURN_IF_ERROR(
            measure_iqdb(qs, base.data(), n,
                         Config(dim, Metric::kL2)
                             .write_threads(std::thread::hardware_concurrency())
                             .index(IvfConfig{}
                                        .with_n_clusters(many_lists)
                                        .with_training_sample_size(kSamplePerList * many_lists)
                                        .with_pq(IvfConfig::Pq::k4BitFastScan)
                                        .with_refine_factor(kRefine))
                             .fsync(FsyncPolicy::never()),
                         kProbes, false, dir, ivf));
        rows.push_back(ivf);
      }
      if (options.hnswlib && hnswlib_available()) {
        Row peer{qs.name, n, kHnswlib};
        IQDB_RETURN_IF_ERROR(measure_hnswlib(qs, base.data(), n, dir, peer));
        rows.push_back(peer);
      }
    }
  }
  print_summary(rows, datasets, sizes);
  return Status::OK();
}

}  // namespace iqdb::bench
