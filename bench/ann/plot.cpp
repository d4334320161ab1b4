#include "ann/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "ann/peers.h"
#include "ann/raster.h"
#include "iqdb/iqdb.hpp"

namespace iqdb::bench {
namespace {

constexpr int kWidth = 1400;
constexpr int kHeight = 900;
constexpr int kPlotLeft = 130;
constexpr int kPlotRight = kWidth - 40;
constexpr int kPlotTop = 124;
constexpr int kPlotBottom = kHeight - 80;

constexpr Rgb kWhite{255, 255, 255};
constexpr Rgb kInk{40, 40, 40};
constexpr Rgb kMuted{110, 110, 110};
constexpr Rgb kGridMajor{215, 215, 215};
constexpr Rgb kGridMinor{238, 238, 238};

// Distinct, print-safe colours; iqdb's own indices come first in a run.
constexpr Rgb kPalette[] = {{31, 100, 200}, {230, 110, 20}, {40, 150, 60},  {200, 40, 50},
                            {130, 80, 180}, {120, 80, 60},  {210, 90, 170}, {100, 100, 100},
                            {170, 170, 30}, {20, 170, 190}};
constexpr Marker kMarkers[] = {Marker::kCircle,  Marker::kSquare,       Marker::kTriangle,
                               Marker::kDiamond, Marker::kTriangleDown, Marker::kCross,
                               Marker::kPlus};

std::string cpu_model() {
  std::ifstream info("/proc/cpuinfo");
  for (std::string line; std::getline(info, line);) {
    if (line.rfind("model name", 0) == 0 && line.find(':') != std::string::npos) {
      std::string m = line.substr(line.find(':') + 1);
      m.erase(0, m.find_first_not_of(' '));
      return m;
    }
  }
  return "unknown CPU";
}

std::string qps_label(double v) {
  char buf[32];
  if (v >= 1e6)
    std::snprintf(buf, sizeof buf, "%gM", v / 1e6);
  else if (v >= 1e3)
    std::snprintf(buf, sizeof buf, "%gk", v / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// Keeps only printable ASCII, which the bitmap font has.
std::string ascii(const std::string& s) {
  std::string out;
  for (char c : s) out.push_back(c >= 32 && c <= 126 ? c : '?');
  return out;
}

struct Axes {
  double x_min, x_max;  // recall
  double y_min, y_max;  // log10(QPS)
  double px(double recall) const {
    return kPlotLeft + (recall - x_min) / (x_max - x_min) * (kPlotRight - kPlotLeft);
  }
  double py(double qps) const {
    return kPlotBottom - (std::log10(qps) - y_min) / (y_max - y_min) * (kPlotBottom - kPlotTop);
  }
};

Axes fit_axes(const std::vector<Point>& points) {
  double lo_recall = 1, lo_qps = 1e300, hi_qps = 0;
  for (const Point& p : points) {
    lo_recall = std::min(lo_recall, p.recall);
    lo_qps = std::min(lo_qps, p.qps);
    hi_qps = std::max(hi_qps, p.qps);
  }
  Axes a;
  a.x_min = std::clamp(std::floor((lo_recall - 0.02) * 20) / 20, 0.0, 0.95);
  a.x_max = 1.005;
  a.y_min = std::floor(std::log10(lo_qps));
  a.y_max = std::ceil(std::log10(hi_qps));
  if (a.y_max <= a.y_min) a.y_max = a.y_min + 1;
  return a;
}

void draw_axes(Canvas& c, const Axes& a) {
  const int label_scale = 2;
  // Log-scale y: a labelled line per decade, faint lines at 2..9 x 10^k.
  for (int e = int(a.y_min); e <= int(a.y_max); ++e) {
    for (int m = 1; m <= 9; ++m) {
      const double v = m * std::pow(10.0, e);
      if (std::log10(v) > a.y_max + 1e-9) break;
      const int y = int(std::lround(a.py(v)));
      c.fill_rect(kPlotLeft, y, kPlotRight, y + 1, m == 1 ? kGridMajor : kGridMinor);
      c.fill_rect(kPlotLeft - (m == 1 ? 8 : 4), y, kPlotLeft, y + 1, kInk);
      if (m == 1) {
        const std::string label = qps_label(v);
        c.text(kPlotLeft - 14 - Canvas::text_width(label, label_scale),
               y - Canvas::text_height(label_scale) / 2, label, kInk, label_scale);
      }
    }
  }
  // Linear x: recall.
  const double span = a.x_max - a.x_min;
  const double step = span > 0.5 ? 0.1 : span > 0.2 ? 0.05 : 0.02;
  for (double r = std::ceil(a.x_min / step - 1e-9) * step; r <= 1.0 + 1e-9; r += step) {
    const int x = int(std::lround(a.px(r)));
    c.fill_rect(x, kPlotTop, x + 1, kPlotBottom, kGridMajor);
    c.fill_rect(x, kPlotBottom, x + 1, kPlotBottom + 8, kInk);
    char buf[16];
    std::snprintf(buf, sizeof buf, step >= 0.1 ? "%.1f" : "%.2f", r);
    c.text(x - Canvas::text_width(buf, label_scale) / 2, kPlotBottom + 14, buf, kInk, label_scale);
  }
  c.outline_rect(kPlotLeft, kPlotTop, kPlotRight + 1, kPlotBottom + 1, kInk);

  const std::string x_label = "Recall@10";
  c.text((kPlotLeft + kPlotRight - Canvas::text_width(x_label, label_scale)) / 2, kHeight - 34,
         x_label, kInk, label_scale);
  const std::string y_label = "Queries per second (one thread, log scale)";
  c.text_up(24, (kPlotTop + kPlotBottom + Canvas::text_width(y_label, label_scale)) / 2, y_label,
            kInk, label_scale);
}

struct Series {
  std::string name;
  std::vector<Point> frontier;
  Rgb colour;
  Marker marker;
};

void draw_legend(Canvas& c, const std::vector<Series>& series) {
  const int scale = 2, row = 26, pad = 12, sample = 44;
  int text_w = 0;
  for (const Series& s : series)
    text_w = std::max(text_w, Canvas::text_width(ascii(s.name), scale));
  const int w = pad * 3 + sample + text_w;
  const int h = pad * 2 + row * int(series.size()) - (row - Canvas::text_height(scale));
  // Lower left: recall/QPS curves run from upper left to lower right.
  const int x0 = kPlotLeft + 16, y0 = kPlotBottom - 16 - h;
  c.fill_rect(x0, y0, x0 + w, y0 + h, kWhite);
  c.outline_rect(x0, y0, x0 + w, y0 + h, kMuted);
  for (size_t i = 0; i < series.size(); ++i) {
    const Series& s = series[i];
    const int y = y0 + pad + row * int(i);
    const double mid = y + Canvas::text_height(scale) / 2.0;
    c.line(x0 + pad, mid, x0 + pad + sample, mid, s.colour, 2.5);
    c.marker(x0 + pad + sample / 2.0, mid, s.marker, s.colour, 11);
    c.text(x0 + pad * 2 + sample, y, ascii(s.name), kInk, scale);
  }
}

}  // namespace

RunDescription describe_run(const Dataset& ds) {
  RunDescription r;
  r.dataset = ds.name + ", " + std::to_string(ds.base_rows) + " x " + std::to_string(ds.dim) +
              " base, " + std::to_string(ds.query_rows) + " queries, L2, recall@" +
              std::to_string(kRecallK);
  r.machine = cpu_model() + ", " + std::to_string(std::thread::hardware_concurrency()) +
              " hardware threads, iqdb " + version() + ", SIMD target " + simd_target() +
              ", search on one thread";
  r.peers = std::string(hnswlib_available() ? kHnswlibLabel : "hnswlib not compiled in") + "; " +
            (faiss_available() ? kFaissLabel : "FAISS not compiled in");
  return r;
}

std::vector<Point> pareto_frontier(std::vector<Point> points) {
  // Fastest first; a point stays if it reaches a higher recall than every
  // faster point.
  std::sort(points.begin(), points.end(), [](const Point& a, const Point& b) {
    return a.qps > b.qps || (a.qps == b.qps && a.recall > b.recall);
  });
  std::vector<Point> out;
  double best_recall = -1;
  for (const Point& p : points) {
    if (p.recall > best_recall) {
      out.push_back(p);
      best_recall = p.recall;
    }
  }
  std::sort(out.begin(), out.end(),
            [](const Point& a, const Point& b) { return a.recall < b.recall; });
  return out;
}

Status write_recall_qps_plot(const std::vector<Point>& points, const RunDescription& run,
                             const std::string& path) {
  std::vector<Point> usable;
  for (const Point& p : points) {
    if (p.qps > 0 && std::isfinite(p.qps) && p.recall >= 0 && p.recall <= 1) usable.push_back(p);
  }
  if (usable.empty()) return Status::InvalidArgument("no points to plot");
  std::vector<Series> series;
  std::map<std::string, size_t> index_of;
  for (const Point& p : usable) {
    if (!index_of.count(p.index)) {
      const size_t i = series.size();
      index_of[p.index] = i;
      series.push_back(
          {p.index, {}, kPalette[i % std::size(kPalette)], kMarkers[i % std::size(kMarkers)]});
    }
  }
  for (Series& s : series) {
    std::vector<Point> mine;
    for (const Point& p : usable) {
      if (p.index == s.name) mine.push_back(p);
    }
    s.frontier = pareto_frontier(std::move(mine));
  }

  Canvas c(kWidth, kHeight, kWhite);
  const Axes axes = fit_axes(usable);
  draw_axes(c, axes);
  for (const Series& s : series) {
    for (size_t i = 1; i < s.frontier.size(); ++i) {
      c.line(axes.px(s.frontier[i - 1].recall), axes.py(s.frontier[i - 1].qps),
             axes.px(s.frontier[i].recall), axes.py(s.frontier[i].qps), s.colour, 2.5);
    }
    for (const Point& p : s.frontier)
      c.marker(axes.px(p.recall), axes.py(p.qps), s.marker, s.colour, 11);
  }
  draw_legend(c, series);
  c.text(kPlotLeft, 22, "Recall@10 vs queries per second - up and to the right is better", kInk, 3);
  c.text(kPlotLeft, 64, ascii(run.dataset), kMuted, 2);
  c.text(kPlotLeft, 88, ascii(run.machine), kMuted, 2);
  return write_png(path, c.image());
}

Status write_markdown_report(const std::vector<Point>& points, const RunDescription& run,
                             const std::string& plot_path, const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path md(path);
  if (!md.parent_path().empty()) fs::create_directories(md.parent_path(), ec);
  const fs::path link =
      fs::path(plot_path).lexically_relative(md.parent_path().empty() ? "." : md.parent_path());
  std::ofstream out(path);
  if (!out) return Status::IOError("cannot write " + path);
  out << "# iqdb-ann: recall@10 vs queries per second\n\n"
      << "- Dataset: " << run.dataset << "\n"
      << "- Machine: " << run.machine << "\n"
      << "- Peers: " << run.peers << "\n"
      << "- QPS: one query at a time on one thread, median of repeated passes; recall@10 against "
         "exact "
         "ground truth from a flat scan\n\n"
      << "![recall@10 vs QPS](" << (link.empty() ? fs::path(plot_path) : link).generic_string()
      << ")\n\n"
      << "| index | params | recall@10 | QPS (1 thread) | build s | bytes/vector |\n"
      << "|---|---|---:|---:|---:|---:|\n";
  char buf[160];
  for (const Point& p : points) {
    std::snprintf(buf, sizeof buf, "| %.4f | %.0f | %.2f | %.0f |", p.recall, p.qps, p.build_s,
                  p.bytes_per_vector);
    out << "| " << p.index << " | " << p.params << " " << buf << "\n";
  }
  return out ? Status::OK() : Status::IOError("write failed: " + path);
}

}  // namespace iqdb::bench
