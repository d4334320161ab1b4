// Shared pieces of the iqdb-ann sweep: the dataset with exact ground truth,
// timing, recall, and the report (table, ratios, CSV).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "dataset/idx.h"
#include "iqdb/status.h"

namespace iqdb::bench {

inline constexpr size_t kRecallK = 10;

struct Dataset {
  std::string name;  // "Fashion-MNIST", "Fashion-MNIST rotated"
  size_t dim = 0;
  size_t base_rows = 0;
  size_t query_rows = 0;
  std::vector<float> base;      // base_rows x dim
  std::vector<float> queries;   // query_rows x dim
  std::vector<uint32_t> truth;  // query_rows x kRecallK exact neighbour ids
  std::vector<uint8_t> base_labels;
  std::vector<uint8_t> query_labels;  // query_rows classes (0..9)
  const float* query(size_t q) const { return queries.data() + q * dim; }
};

// Loads Fashion-MNIST (the first `base_rows` training images, 0: all) and
// computes exact ground truth for the first `queries` test images.
Result<Dataset> load_dataset(const std::string& dir, size_t queries, size_t base_rows = 0);
// Fills ds.truth: the exact kRecallK nearest base rows of every query, from
// iqdb's batched exact flat search (search_batch on a flat Database, itself
// checked against brute force by the test suite).
Status compute_truth(Dataset& ds);
// The same over `rows` base rows at `base` (ds.base is not read).
Status compute_truth(const float* base, size_t rows, Dataset& ds);
// The same images under the fixed random rotation of rotation.h (distances
// unchanged up to float rounding, values no longer whole numbers), with
// their own exact ground truth.
Result<Dataset> rotated_dataset(const Dataset& plain);
void print_machine(const Dataset& ds);
// The peers and how each was built, for the head of every report.
void print_peers();

// recall@10 of found ids (query_rows x up to 10 each).
double recall_at_10(const Dataset& ds, const std::vector<std::vector<uint32_t>>& found);

double seconds_since(std::chrono::steady_clock::time_point t);

// Runs `search_one(q)` for every query on this thread, `repeats` times, and
// returns the median queries per second.
double median_qps(const Dataset& ds, int repeats, const std::function<void(size_t)>& search_one);

// Resident memory of this process (bytes), for before/after differences;
// returns freed heap to the system first so that a difference counts what
// was allocated since, not what was reused.
size_t resident_bytes();

struct Point {
  std::string index;   // "iqdb-flat", "faiss-IndexFlatL2", "hnswlib M=16", ...
  std::string params;  // "ef=64"
  double recall = 0;
  double qps = 0;
  double build_s = 0;
  double bytes_per_vector = 0;
  std::string dataset;  // stamped by Report::add
};

struct Ratio {
  std::string dataset;
  std::string name;
  double value;
  double target;  // 0: informational
};

// Points and ratios of one run. Each belongs to the dataset current when it
// was added (set_dataset); curve lookups see the current dataset only.
class Report {
 public:
  void set_dataset(std::string name) { dataset_ = std::move(name); }
  const std::string& dataset() const { return dataset_; }
  void add(Point p) {
    p.dataset = dataset_;
    points_.push_back(std::move(p));
  }
  void ratio(std::string name, double value, double target = 0) {
    ratios_.push_back({dataset_, std::move(name), value, target});
  }
  const std::vector<Point>& points() const { return points_; }
  // The points of one dataset.
  std::vector<Point> points_of(const std::string& dataset) const;
  // Whether the current dataset has a curve named `index`.
  bool has_curve(const std::string& index) const;
  // The first point of `index` on the current dataset (build time and
  // bytes per vector are per curve); null when absent.
  const Point* first_point(const std::string& index) const;
  void print_table() const;
  void print_ratios() const;
  Status write_csv(const std::string& path) const;
  // QPS of `index` interpolated at `recall` on its curve; 0 when the curve
  // never reaches it.
  double qps_at_recall(const std::string& index, double recall) const;

 private:
  std::string dataset_;
  std::vector<Point> points_;
  std::vector<Ratio> ratios_;
};

// The curve name of the hnswlib peer at M=m, "hnswlib-native M=16".
std::string hnswlib_curve(size_t m);

// hnswlib M=m, ef_construction 200, built on `build_threads` threads and
// searched on one thread at each ef of `efs`: the curve hnswlib_curve(m).
// Bytes per vector is the resident-set growth over the build, as for iqdb
// (so its per-element locks, levels and label map count), and at least its
// graph and vector arrays.
void sweep_hnswlib(const Dataset& ds, size_t m, const std::vector<size_t>& efs,
                   size_t build_threads, Report& report);

void run_flat_section(const Dataset& ds, Report& report);
// iqdb HNSW (through Database::search) against hnswlib-native, M 16 and 32;
// the compact-row variants that the dataset allows (u8 rows need whole
// numbers).
void run_hnsw_section(const Dataset& ds, Report& report);
void run_reopen_section(const Dataset& ds, Report& report);
// Flat search per storage type vs the streaming-read bound, and batched flat
// search vs FAISS IndexFlatL2 batched and the FMA peak (types_section.cpp).
void run_types_section(const Dataset& ds, Report& report);
// iqdb IVF-Flat and IVF-PQ (8-bit, 4-bit fast scan) through Database
// against FAISS IVF peers, sweeping n_probes and refine; ratios against
// hnswlib-native M=16 (the hnsw section's curve, or one built here when that
// section did not run).
void run_ivf_section(const Dataset& ds, Report& report);

// Filtered search (filter_section.cpp): iqdb HNSW M=16 through
// Database::search with a Filter (own class, far class, 1 % and 0.1 % tags)
// against hnswlib-native given each filter as an allow-list, and iqdb's
// exact scan of the matches, on up to `queries` queries.
void run_filter_section(const Dataset& ds, Report& report, size_t queries);

struct ScaleOptions {
  size_t max_rows = 1'000'000;  // sizes 60k, 250k, 1M up to this
  std::vector<size_t> sizes;    // instead, exactly these sizes (ascending)
  bool plain = true;
  bool rotated = true;
  size_t queries = 1000;
  bool hnsw = true, ivf = true, hnswlib = true;  // the indices measured
  bool ivf_many = true;                          // IVF-PQ with rows / 256 lists (scale_section.cpp)
};
// The cost curve of grow.h's enlarged Fashion-MNIST (and its rotation):
// build time, bytes per vector, QPS at recall 0.95 / 0.99 and reopen time of
// iqdb HNSW, iqdb IVF-PQ and hnswlib-native at each size.
Status run_scale(const std::string& data_dir, const ScaleOptions& options);

}  // namespace iqdb::bench
