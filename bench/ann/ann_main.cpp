// iqdb-ann: the recall/QPS sweep on Fashion-MNIST (DESIGN.md section 7).
//
// One run, one machine: exact ground truth, then every index and every peer
// compiled into this build, each measured single-threaded on the same
// queries. Prints a table and the ratios the issues set as targets, and
// writes the points as CSV, a recall/QPS plot (PNG) and a markdown table.
//
//   iqdb-ann [--queries N] [--csv FILE] [--plot FILE] [--markdown FILE]
//            [--only flat,hnsw,...] [--data DIR]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "ann/ann.h"
#include "ann/plot.h"
#include "iqdb/iqdb.hpp"

using namespace iqdb;
using namespace iqdb::bench;

namespace {

struct Options {
  size_t queries = 1000;
  std::string csv = "bench-results/ann.csv";
  std::string plot = "bench-results/ann.png";
  std::string markdown = "bench-results/ann.md";
  std::string only;
  std::string data = dataset::kFashionMnistDir;
};

Options parse(int argc, char** argv) {
  Options o;
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
    } else if (a == "--csv") {
      o.csv = next();
    } else if (a == "--plot") {
      o.plot = next();
    } else if (a == "--markdown") {
      o.markdown = next();
    } else if (a == "--only") {
      o.only = next();
    } else if (a == "--data") {
      o.data = next();
    } else if (a == "--help" || a == "-h") {
      std::printf(
          "usage: iqdb-ann [--queries N] [--csv FILE] [--plot FILE.png] [--markdown FILE.md]\n"
          "                [--only SECTIONS] [--data DIR]\n"
          "sections: flat, hnsw, reopen, types, ivf (comma separated; default all)\n");
      std::exit(0);
    } else {
      std::fprintf(stderr, "iqdb-ann: unknown option %s\n", a.c_str());
      std::exit(2);
    }
  }
  return o;
}

bool wanted(const Options& o, const char* section) {
  if (o.only.empty()) return true;
  return ("," + o.only + ",").find(std::string(",") + section + ",") != std::string::npos;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt = parse(argc, argv);
  auto ds = load_dataset(opt.data, opt.queries);
  if (!ds) {
    std::fprintf(stderr, "iqdb-ann: %s\n", ds.status().to_string().c_str());
    return 1;
  }
  print_machine(*ds);
  Report report;
  if (wanted(opt, "flat")) run_flat_section(*ds, report);
  if (wanted(opt, "hnsw")) run_hnsw_section(*ds, report);
  if (wanted(opt, "reopen")) run_reopen_section(*ds, report);
  if (wanted(opt, "types")) run_types_section(*ds, report);
  if (wanted(opt, "ivf")) run_ivf_section(*ds, report);
  report.print_table();
  report.print_ratios();
  Status s = report.write_csv(opt.csv);
  if (!s.ok()) {
    std::fprintf(stderr, "iqdb-ann: %s\n", s.to_string().c_str());
    return 1;
  }
  std::printf("\nCSV written to %s\n", opt.csv.c_str());
  const RunDescription run = describe_run(*ds);
  s = write_recall_qps_plot(report.points(), run, opt.plot);
  if (s.ok()) s = write_markdown_report(report.points(), run, opt.plot, opt.markdown);
  if (!s.ok()) {
    std::fprintf(stderr, "iqdb-ann: %s\n", s.to_string().c_str());
    return 1;
  }
  std::printf("plot written to %s, table to %s\n", opt.plot.c_str(), opt.markdown.c_str());
  return 0;
}
