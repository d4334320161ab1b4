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
  size_t dim = 0;
  size_t base_rows = 0;
  size_t query_rows = 0;
  std::vector<float> base;      // base_rows x dim
  std::vector<float> queries;   // query_rows x dim
  std::vector<uint32_t> truth;  // query_rows x kRecallK exact neighbour ids
  std::vector<uint8_t> base_labels;
  const float* query(size_t q) const { return queries.data() + q * dim; }
};

// Loads Fashion-MNIST and computes exact ground truth for the first
// `queries` test images with iqdb's exact flat index (itself checked
// against brute force by the test suite).
Result<Dataset> load_dataset(const std::string& dir, size_t queries);
void print_machine(const Dataset& ds);

// recall@10 of found ids (query_rows x up to 10 each).
double recall_at_10(const Dataset& ds, const std::vector<std::vector<uint32_t>>& found);

double seconds_since(std::chrono::steady_clock::time_point t);

// Runs `search_one(q)` for every query on this thread, `repeats` times, and
// returns the median queries per second.
double median_qps(const Dataset& ds, int repeats, const std::function<void(size_t)>& search_one);

// Resident memory of this process (bytes), for before/after differences.
size_t resident_bytes();

struct Point {
  std::string index;   // "iqdb-flat", "faiss-IndexFlatL2", "hnswlib M=16", ...
  std::string params;  // "ef=64"
  double recall = 0;
  double qps = 0;
  double build_s = 0;
  double bytes_per_vector = 0;
};

struct Ratio {
  std::string name;
  double value;
  double target;  // 0: informational
};

class Report {
 public:
  void add(Point p) { points_.push_back(std::move(p)); }
  void ratio(std::string name, double value, double target = 0) {
    ratios_.push_back({std::move(name), value, target});
  }
  const std::vector<Point>& points() const { return points_; }
  void print_table() const;
  void print_ratios() const;
  Status write_csv(const std::string& path) const;
  // QPS of `index` interpolated at `recall` on its curve; 0 when the curve
  // never reaches it.
  double qps_at_recall(const std::string& index, double recall) const;

 private:
  std::vector<Point> points_;
  std::vector<Ratio> ratios_;
};

// hnswlib M=m, ef_construction 200, built on `build_threads` threads and
// searched on one thread at each ef of `efs`: the curve "hnswlib M=<m>".
// Bytes per vector is the resident-set growth over the build, as for iqdb
// (so its per-element locks, levels and label map count), and at least its
// graph and vector arrays.
void sweep_hnswlib(const Dataset& ds, size_t m, const std::vector<size_t>& efs,
                   size_t build_threads, Report& report);

void run_flat_section(const Dataset& ds, Report& report);
void run_hnsw_section(const Dataset& ds, Report& report);
void run_reopen_section(const Dataset& ds, Report& report);
// Flat search per storage type vs the streaming-read bound, and batched flat
// search vs FAISS IndexFlatL2 batched and the FMA peak (types_section.cpp).
void run_types_section(const Dataset& ds, Report& report);
// iqdb IVF-Flat and IVF-PQ (8-bit, 4-bit fast scan) against FAISS IVF peers,
// sweeping n_probes and refine; ratios against hnswlib M=16 (the hnsw
// section's curve, or one built here when that section did not run).
void run_ivf_section(const Dataset& ds, Report& report);

}  // namespace iqdb::bench
