#include "cli/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace iqdb::cli {
namespace {

std::string duration_text(double s) {
  char buf[32];
  if (s < 60)
    std::snprintf(buf, sizeof buf, "%.0fs", s);
  else if (s < 3600)
    std::snprintf(buf, sizeof buf, "%dm%02ds", int(s) / 60, int(s) % 60);
  else
    std::snprintf(buf, sizeof buf, "%dh%02dm", int(s) / 3600, (int(s) % 3600) / 60);
  return buf;
}

}  // namespace

Progress::Progress(std::string label, bool enabled)
    : label_(std::move(label)),
      enabled_(enabled),
      terminal_(isatty(STDERR_FILENO) != 0),
      start_(Clock::now()),
      last_draw_(start_) {}

Progress::~Progress() {
  if (open_line_) std::fputc('\n', stderr);
}

double Progress::elapsed_seconds() const {
  return std::chrono::duration<double>(Clock::now() - start_).count();
}

void Progress::update(uint64_t rows, double fraction, std::optional<uint64_t> total) {
  if (!enabled_) return;
  fraction = std::clamp(fraction, 0.0, 1.0);
  const auto now = Clock::now();
  if (terminal_) {
    if (now - last_draw_ < std::chrono::milliseconds(100)) return;
  } else {
    if (fraction >= 1.0) return;  // finish() prints the last line
    const int decile = int(fraction * 10);
    if (decile <= last_decile_ && now - last_draw_ < std::chrono::seconds(10)) return;
    last_decile_ = std::max(decile, last_decile_);
  }
  last_draw_ = now;
  draw(rows, fraction, total, false);
}

void Progress::finish(uint64_t rows) {
  if (!enabled_) return;
  draw(rows, 1.0, rows, true);
  if (open_line_) {
    std::fputc('\n', stderr);
    open_line_ = false;
  }
  std::fflush(stderr);
}

void Progress::draw(uint64_t rows, double fraction, std::optional<uint64_t> total, bool final) {
  const double s = elapsed_seconds();
  const double rate = s > 0 ? double(rows) / s : 0;
  std::string eta = final              ? "done in " + duration_text(s)
                    : fraction > 0.001 ? "ETA " + duration_text(s * (1 - fraction) / fraction)
                                       : "ETA ?";
  std::string count = std::to_string(rows) + (total ? "/" + std::to_string(*total) : "") + " rows";
  char rate_text[32];
  std::snprintf(rate_text, sizeof rate_text, "%.0f rows/s", rate);
  if (terminal_) {
    constexpr int kWidth = 30;
    const int filled = int(fraction * kWidth);
    std::string bar(size_t(filled), '=');
    if (filled < kWidth) bar += '>';
    bar.resize(kWidth, ' ');
    std::fprintf(stderr, "\r%s [%s] %3.0f%% %s  %s  %s\x1b[K", label_.c_str(), bar.c_str(),
                 fraction * 100, count.c_str(), rate_text, eta.c_str());
    open_line_ = true;
  } else {
    std::fprintf(stderr, "%s: %3.0f%% %s, %s, %s\n", label_.c_str(), fraction * 100, count.c_str(),
                 rate_text, eta.c_str());
  }
  std::fflush(stderr);
}

}  // namespace iqdb::cli
