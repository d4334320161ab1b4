#include <malloc.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>
#include <unordered_set>

#include "ann/ann.h"
#include "ann/peers.h"
#include "ann/rotation.h"
#include "iqdb/iqdb.hpp"

namespace iqdb::bench {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

Result<Dataset> load_dataset(const std::string& dir, size_t queries, size_t base_rows) {
  auto fm = dataset::load_fashion_mnist(dir);
  if (!fm) return fm.status();
  Dataset ds;
  ds.name = "Fashion-MNIST";
  ds.dim = fm->dim;
  ds.base_rows = base_rows == 0 ? fm->train_rows() : std::min(base_rows, fm->train_rows());
  ds.query_rows = std::min(queries, fm->test_rows());
  fm->train.resize(ds.base_rows * ds.dim);
  ds.base = std::move(fm->train);
  ds.base_labels = std::move(fm->train_labels);
  ds.base_labels.resize(ds.base_rows);
  ds.queries.assign(fm->test.begin(), fm->test.begin() + ptrdiff_t(ds.query_rows * ds.dim));
  ds.query_labels.assign(fm->test_labels.begin(),
                         fm->test_labels.begin() + ptrdiff_t(ds.query_rows));
  IQDB_RETURN_IF_ERROR(compute_truth(ds));
  return ds;
}

Status compute_truth(Dataset& ds) { return compute_truth(ds.base.data(), ds.base_rows, ds); }

Status compute_truth(const float* base, size_t rows, Dataset& ds) {
  auto db = Database::open_in_memory(ds.dim, Metric::kL2);
  if (!db) return db.status();
  std::vector<VectorId> ids;
  ids.reserve(rows);
  for (size_t i = 0; i < rows; ++i) ids.emplace_back(i);
  IQDB_RETURN_IF_ERROR(db->upsert_batch(ids, std::span<const float>(base, rows * ds.dim)));
  auto truth = db->search_batch(ds.queries, kRecallK);
  if (!truth) return truth.status();
  ds.truth.assign(ds.query_rows * kRecallK, UINT32_MAX);
  for (size_t q = 0; q < ds.query_rows; ++q) {
    for (size_t j = 0; j < (*truth)[q].size(); ++j) {
      ds.truth[q * kRecallK + j] = static_cast<uint32_t>((*truth)[q][j].id.as_u64());
    }
  }
  return Status::OK();
}

Result<Dataset> rotated_dataset(const Dataset& plain) {
  Dataset ds;
  ds.name = plain.name + " rotated";
  ds.dim = plain.dim;
  ds.base_rows = plain.base_rows;
  ds.query_rows = plain.query_rows;
  ds.base_labels = plain.base_labels;
  ds.query_labels = plain.query_labels;
  const Rotation rotation = Rotation::random(plain.dim, kRotationSeed);
  ds.base = plain.base;
  ds.queries = plain.queries;
  rotation.apply_in_place(ds.base.data(), ds.base_rows, 2);
  rotation.apply_in_place(ds.queries.data(), ds.query_rows, 2);
  IQDB_RETURN_IF_ERROR(compute_truth(ds));
  // A rotation keeps distances, so the exact neighbours agree with the
  // plain dataset's up to ties and float rounding.
  size_t same = 0;
  for (size_t i = 0; i < ds.truth.size(); ++i) same += ds.truth[i] == plain.truth[i] ? 1 : 0;
  double fractional = 0;
  for (float v : ds.base) fractional += v != std::floor(v) ? 1 : 0;
  std::printf(
      "%s: %.4f of the exact neighbour lists agree with the plain dataset's, position by "
      "position; %.4f of the values are not whole numbers\n",
      ds.name.c_str(), double(same) / double(ds.truth.size()), fractional / double(ds.base.size()));
  return ds;
}

void print_peers() {
  std::printf("peers: %s; %s\n", hnswlib_available() ? kHnswlibLabel : "hnswlib not compiled in",
              faiss_available() ? kFaissLabel : "FAISS not compiled in");
  std::printf(
      "iqdb: this build's flags (baseline ISA), kernels dispatched at run time to the CPU's "
      "widest target\n");
}

std::string hnswlib_curve(size_t m) { return "hnswlib-native M=" + std::to_string(m); }

void print_machine(const Dataset& ds) {
  std::string cpu = "unknown CPU";
  std::ifstream info("/proc/cpuinfo");
  for (std::string line; std::getline(info, line);) {
    if (line.rfind("model name", 0) == 0) {
      cpu = line.substr(line.find(':') + 2);
      break;
    }
  }
  std::printf("iqdb-ann: %s %zu x %zu base, %zu queries, L2, recall@%zu\n", ds.name.c_str(),
              ds.base_rows, ds.dim, ds.query_rows, kRecallK);
  std::printf(
      "machine: %s, %u hardware threads; iqdb %s, SIMD target %s; search is single-threaded\n\n",
      cpu.c_str(), std::thread::hardware_concurrency(), version(), simd_target().c_str());
}

double recall_at_10(const Dataset& ds, const std::vector<std::vector<uint32_t>>& found) {
  size_t agree = 0;
  for (size_t q = 0; q < ds.query_rows; ++q) {
    std::unordered_set<uint32_t> want(ds.truth.begin() + ptrdiff_t(q * kRecallK),
                                      ds.truth.begin() + ptrdiff_t((q + 1) * kRecallK));
    for (size_t j = 0; j < std::min(found[q].size(), kRecallK); ++j)
      agree += want.count(found[q][j]);
  }
  return double(agree) / double(ds.query_rows * kRecallK);
}

double median_qps(const Dataset& ds, int repeats, const std::function<void(size_t)>& search_one) {
  std::vector<double> qps;
  for (int r = 0; r < repeats; ++r) {
    auto t = std::chrono::steady_clock::now();
    for (size_t q = 0; q < ds.query_rows; ++q) search_one(q);
    qps.push_back(double(ds.query_rows) / seconds_since(t));
  }
  std::sort(qps.begin(), qps.end());
  return qps[qps.size() / 2];
}

size_t resident_bytes() {
  malloc_trim(0);
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

void Report::print_table() const {
  std::string current = "\x01";
  for (const Point& p : points_) {
    if (p.dataset != current) {
      current = p.dataset;
      std::printf("\n%s\n%-44s %-22s %9s %11s %9s %12s\n", current.c_str(), "index", "params",
                  "recall@10", "QPS (1 thr)", "build s", "bytes/vector");
    }
    std::printf("%-44s %-22s %9.4f %11.0f %9.2f %12.0f\n", p.index.c_str(), p.params.c_str(),
                p.recall, p.qps, p.build_s, p.bytes_per_vector);
  }
}

void Report::print_ratios() const {
  if (ratios_.empty()) return;
  std::printf("\nratios (peers measured in this run, on this machine):\n");
  std::string current = "\x01";
  for (const Ratio& r : ratios_) {
    if (r.dataset != current) {
      current = r.dataset;
      std::printf(" %s\n", current.c_str());
    }
    if (r.target > 0) {
      std::printf("  %-72s %7.2f   target >= %.2f  %s\n", r.name.c_str(), r.value, r.target,
                  r.value >= r.target ? "met" : "NOT MET");
    } else {
      std::printf("  %-72s %7.2f\n", r.name.c_str(), r.value);
    }
  }
}

std::vector<Point> Report::points_of(const std::string& dataset) const {
  std::vector<Point> out;
  for (const Point& p : points_) {
    if (p.dataset == dataset) out.push_back(p);
  }
  return out;
}

bool Report::has_curve(const std::string& index) const { return first_point(index) != nullptr; }

const Point* Report::first_point(const std::string& index) const {
  for (const Point& p : points_) {
    if (p.dataset == dataset_ && p.index == index) return &p;
  }
  return nullptr;
}

Status Report::write_csv(const std::string& path) const {
  std::error_code ec;
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  std::ofstream out(path);
  if (!out) return Status::IOError("cannot write " + path);
  out << "dataset,index,params,recall_at_10,qps,build_s,bytes_per_vector\n";
  for (const Point& p : points_) {
    out << '"' << p.dataset << "\",\"" << p.index << "\",\"" << p.params << "\"," << p.recall << ','
        << p.qps << ',' << p.build_s << ',' << p.bytes_per_vector << '\n';
  }
  return out ? Status::OK() : Status::IOError("write failed: " + path);
}

double Report::qps_at_recall(const std::string& index, double recall) const {
  std::vector<std::pair<double, double>> curve;  // (recall, qps)
  for (const Point& p : points_) {
    if (p.dataset == dataset_ && p.index == index) curve.emplace_back(p.recall, p.qps);
  }
  std::sort(curve.begin(), curve.end());
  // Best QPS among points at or above the recall, interpolating between the
  // neighbouring points that straddle it.
  double best = 0;
  for (size_t i = 0; i < curve.size(); ++i) {
    if (curve[i].first >= recall) best = std::max(best, curve[i].second);
    if (i > 0 && curve[i - 1].first < recall && curve[i].first >= recall) {
      double t = (recall - curve[i - 1].first) / (curve[i].first - curve[i - 1].first);
      best = std::max(best, curve[i - 1].second + t * (curve[i].second - curve[i - 1].second));
    }
  }
  return best;
}

void sweep_hnswlib(const Dataset& ds, size_t m, const std::vector<size_t>& efs,
                   size_t build_threads, Report& report) {
  const std::string name = hnswlib_curve(m);
  const size_t before = resident_bytes();
  auto index = make_hnswlib(m, 200, build_threads);
  const auto t = std::chrono::steady_clock::now();
  index->build(ds.base.data(), ds.base_rows, ds.dim);
  const double build_s = seconds_since(t);
  const double arrays = double(index->memory_bytes()) / double(ds.base_rows);
  const double bytes = std::max(arrays, double(resident_bytes() - before) / double(ds.base_rows));
  std::printf("  %s built in %.2f s (%.0f bytes/vector; its graph and vector arrays alone %.0f)\n",
              name.c_str(), build_s, bytes, arrays);
  for (size_t ef : efs) {
    index->set_search_knob(std::max(ef, kRecallK));
    std::vector<std::vector<uint32_t>> found(ds.query_rows);
    const double qps =
        median_qps(ds, 3, [&](size_t q) { index->search(ds.query(q), kRecallK, found[q]); });
    report.add({name, "ef=" + std::to_string(ef), recall_at_10(ds, found), qps, build_s, bytes});
  }
}

}  // namespace iqdb::bench
