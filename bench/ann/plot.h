// What iqdb-ann leaves behind for people to look at: a PNG plot of
// recall@10 (x) against single-thread queries per second (y, log scale),
// one line per index or peer, in the manner of ann-benchmarks' plots; and a
// markdown file with the run's description, the plot and the full table.
//
// Each line is the index's Pareto frontier, as ann-benchmarks draws it: a
// setting that another setting of the same index beats on both recall and
// QPS is left out of the line (it stays in the table).
#pragma once

#include <string>
#include <vector>

#include "ann/ann.h"
#include "iqdb/status.h"

namespace iqdb::bench {

struct RunDescription {
  std::string dataset;  // "Fashion-MNIST, 60000 x 784 base, 1000 queries, L2, recall@10"
  std::string machine;  // "<CPU model>, 2 hardware threads, iqdb 0.1.0, SIMD target AVX2, ..."
  std::string peers;    // how each peer was built
};

// The description of this run on this machine.
RunDescription describe_run(const Dataset& ds);

// Draws the plot and writes it as PNG (parent directories created).
// kInvalidArgument when no point has a positive QPS.
Status write_recall_qps_plot(const std::vector<Point>& points, const RunDescription& run,
                             const std::string& path);

// Writes the markdown report; `plot_path` is linked relative to it.
Status write_markdown_report(const std::vector<Point>& points, const RunDescription& run,
                             const std::string& plot_path, const std::string& path);

// The points of one index that no other point of it beats on both recall
// and QPS, in order of increasing recall.
std::vector<Point> pareto_frontier(std::vector<Point> points);

}  // namespace iqdb::bench
