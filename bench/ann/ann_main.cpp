// iqdb-ann: the recall/QPS sweep on Fashion-MNIST (DESIGN.md section 7).
//
// One run, one machine: exact ground truth, then every index and every peer
// compiled into this build, each measured single-threaded on the same
// queries. The graph and IVF sections run twice: on the images as they are
// (whole-number pixels) and on the same images under a fixed random
// rotation (same distances, real-valued coordinates), each with its own
// exact ground truth. Prints a table and the ratios against the targets,
// and writes the points as CSV, a recall/QPS plot (PNG) per dataset and a
// markdown table per dataset.
//
// --scale runs the cost curve instead (scale_section.cpp): the dataset grown
// to 60k, 250k and 1M images (grow.h).
//
//   iqdb-ann [--queries N] [--base N] [--csv FILE] [--plot FILE] [--markdown FILE]
//            [--only flat,hnsw,...] [--datasets plain,rotated] [--data DIR]
//            [--filter-queries N]
//   iqdb-ann --scale [--scale-max N] [--datasets plain,rotated] [--queries N]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "ann/ann.h"
#include "ann/peers.h"
#include "ann/plot.h"
#include "ann/rotation.h"
#include "iqdb/iqdb.hpp"

using namespace iqdb;
using namespace iqdb::bench;

namespace {

struct Options {
  size_t queries = 1000;
  size_t base = 0;  // 0: all 60,000 training images
  std::string csv = "bench-results/ann.csv";
  std::string plot = "bench-results/ann.png";
  std::string markdown = "bench-results/ann.md";
  std::string only;
  std::string datasets = "plain,rotated";
  std::string data = dataset::kFashionMnistDir;
  size_t filter_queries = 500;
  bool scale = false;
  size_t scale_max = 1'000'000;
  std::string scale_sizes;
};

Options parse(int argc, char** argv) {
  Options o;
  bool queries_given = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "iqdb-ann: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--queries") {
      o.queries = std::strtoull(next().c_str(), nullptr, 10);
      queries_given = true;
    } else if (a == "--base") {
      o.base = std::strtoull(next().c_str(), nullptr, 10);
    } else if (a == "--csv") {
      o.csv = next();
    } else if (a == "--plot") {
      o.plot = next();
    } else if (a == "--markdown") {
      o.markdown = next();
    } else if (a == "--only") {
      o.only = next();
    } else if (a == "--datasets") {
      o.datasets = next();
    } else if (a == "--data") {
      o.data = next();
    } else if (a == "--filter-queries") {
      o.filter_queries = std::strtoull(next().c_str(), nullptr, 10);
    } else if (a == "--scale") {
      o.scale = true;
    } else if (a == "--scale-max") {
      o.scale_max = std::strtoull(next().c_str(), nullptr, 10);
    } else if (a == "--scale-sizes") {
      o.scale_sizes = next();
    } else if (a == "--help" || a == "-h") {
      std::printf(
          "usage: iqdb-ann [--queries N] [--base N] [--csv FILE] [--plot FILE.png]\n"
          "                [--markdown FILE.md] [--only SECTIONS] [--datasets LIST] [--data DIR]\n"
          "                [--filter-queries N]\n"
          "       iqdb-ann --scale [--scale-max N | --scale-sizes N,N,...] [--only INDICES]\n"
          "                [--datasets LIST] [--queries N]\n"
          "sections: flat, hnsw, reopen, types, ivf, filter (comma separated; default all)\n"
          "--filter-queries: queries of the filter section (default 500, at most --queries)\n"
          "datasets: plain, rotated (default both; flat, reopen and types run on plain)\n"
          "--scale: build / memory / QPS / reopen of iqdb HNSW, iqdb IVF-PQ and hnswlib at\n"
          "         60k, 250k and 1M rows (up to --scale-max), 1000 queries by default;\n"
          "         --only picks among hnsw, ivf, ivf-many, hnswlib (default all four)\n");
      std::exit(0);
    } else {
      std::fprintf(stderr, "iqdb-ann: unknown option %s\n", a.c_str());
      std::exit(2);
    }
  }
  if (o.scale && !queries_given) o.queries = 1000;
  return o;
}

bool listed(const std::string& list, const char* item) {
  return ("," + list + ",").find(std::string(",") + item + ",") != std::string::npos;
}

bool wanted(const Options& o, const char* section) {
  return o.only.empty() || listed(o.only, section);
}

// "dir/ann.png" -> "dir/ann-rotated.png" for the rotated dataset.
std::string with_suffix(const std::string& path, const std::string& suffix) {
  std::filesystem::path p(path);
  return (p.parent_path() / (p.stem().string() + suffix + p.extension().string())).string();
}

}  // namespace

int main(int argc, char** argv) {
  // Line by line even into a file: a long run shows how far it got.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  Options opt = parse(argc, argv);
  const bool plain_wanted = listed(opt.datasets, "plain");
  const bool rotated_wanted = listed(opt.datasets, "rotated");
  if (!plain_wanted && !rotated_wanted) {
    std::fprintf(stderr, "iqdb-ann: --datasets names neither plain nor rotated\n");
    return 2;
  }
  if (opt.scale) {
    print_peers();
    ScaleOptions s;
    s.max_rows = opt.scale_max;
    s.plain = plain_wanted;
    s.rotated = rotated_wanted;
    s.queries = opt.queries;
    for (size_t from = 0; from < opt.scale_sizes.size();) {
      size_t comma = opt.scale_sizes.find(',', from);
      if (comma == std::string::npos) comma = opt.scale_sizes.size();
      const size_t n =
          std::strtoull(opt.scale_sizes.substr(from, comma - from).c_str(), nullptr, 10);
      if (n == 0 || (!s.sizes.empty() && n <= s.sizes.back())) {
        std::fprintf(stderr,
                     "iqdb-ann: --scale-sizes wants ascending row counts, e.g. 60000,1000000\n");
        return 2;
      }
      s.sizes.push_back(n);
      from = comma + 1;
    }
    if (!opt.only.empty()) {
      s.hnsw = listed(opt.only, "hnsw");
      s.ivf = listed(opt.only, "ivf");
      s.ivf_many = listed(opt.only, "ivf-many");
      s.hnswlib = listed(opt.only, "hnswlib");
      if (!s.hnsw && !s.ivf && !s.ivf_many && !s.hnswlib) {
        std::fprintf(stderr,
                     "iqdb-ann: with --scale, --only picks among hnsw, ivf, ivf-many, hnswlib\n");
        return 2;
      }
    }
    const Status st = run_scale(opt.data, s);
    if (!st.ok()) {
      std::fprintf(stderr, "iqdb-ann: %s\n", st.to_string().c_str());
      return 1;
    }
    return 0;
  }
  auto ds = load_dataset(opt.data, opt.queries, opt.base);
  if (!ds) {
    std::fprintf(stderr, "iqdb-ann: %s\n", ds.status().to_string().c_str());
    return 1;
  }
  print_machine(*ds);
  print_peers();
  Report report;
  std::vector<std::pair<Dataset*, std::string>> written;  // dataset, file suffix
  if (plain_wanted) {
    report.set_dataset(ds->name);
    if (wanted(opt, "flat")) run_flat_section(*ds, report);
    if (wanted(opt, "hnsw")) run_hnsw_section(*ds, report);
    if (wanted(opt, "reopen")) run_reopen_section(*ds, report);
    if (wanted(opt, "types")) run_types_section(*ds, report);
    if (wanted(opt, "ivf")) run_ivf_section(*ds, report);
    if (wanted(opt, "filter")) run_filter_section(*ds, report, opt.filter_queries);
    written.emplace_back(&*ds, "");
  }
  Result<Dataset> rotated = Status::NotFound("not wanted");
  if (rotated_wanted && (wanted(opt, "hnsw") || wanted(opt, "ivf") || wanted(opt, "filter"))) {
    rotated = rotated_dataset(*ds);
    if (!rotated) {
      std::fprintf(stderr, "iqdb-ann: %s\n", rotated.status().to_string().c_str());
      return 1;
    }
    std::printf(
        "\n%s: the same images under a fixed random rotation (seed %#llx), own ground "
        "truth\n",
        rotated->name.c_str(), static_cast<unsigned long long>(kRotationSeed));
    report.set_dataset(rotated->name);
    if (wanted(opt, "hnsw")) run_hnsw_section(*rotated, report);
    if (wanted(opt, "ivf")) run_ivf_section(*rotated, report);
    if (wanted(opt, "filter")) run_filter_section(*rotated, report, opt.filter_queries);
    written.emplace_back(&*rotated, "-rotated");
  }
  report.print_table();
  report.print_ratios();
  Status s = report.write_csv(opt.csv);
  if (!s.ok()) {
    std::fprintf(stderr, "iqdb-ann: %s\n", s.to_string().c_str());
    return 1;
  }
  std::printf("\nCSV written to %s\n", opt.csv.c_str());
  for (const auto& [data, suffix] : written) {
    const std::vector<Point> points = report.points_of(data->name);
    if (points.empty()) continue;
    const RunDescription run = describe_run(
        *data, std::string(hnswlib_available() ? kHnswlibLabel : "hnswlib not compiled in") + "; " +
                   (faiss_available() ? kFaissLabel : "FAISS not compiled in"));
    const std::string plot = with_suffix(opt.plot, suffix);
    const std::string markdown = with_suffix(opt.markdown, suffix);
    s = write_recall_qps_plot(points, run, plot);
    if (s.ok()) s = write_markdown_report(points, run, plot, markdown);
    if (!s.ok()) {
      std::fprintf(stderr, "iqdb-ann: %s\n", s.to_string().c_str());
      return 1;
    }
    std::printf("plot written to %s, table to %s\n", plot.c_str(), markdown.c_str());
  }
  return 0;
}
