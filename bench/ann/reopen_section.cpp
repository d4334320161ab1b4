// The reopen section: how long opening a saved 60k x 784 HNSW database
// takes (the snapshot is mapped, not rebuilt) next to building the same
// index from scratch, plus the first query after open (with the background
// checksum scrub that open starts running), and how long that scrub takes.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "ann/ann.h"
#include "iqdb/iqdb.hpp"

namespace iqdb::bench {

void run_reopen_section(const Dataset& ds, Report& report) {
  std::printf("[reopen] file-backed HNSW (M=16): open of a saved database vs a cold build\n");
  auto dir =
      std::filesystem::temp_directory_path() / ("iqdb-ann-reopen-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  auto path = dir / "fashion.iqdb";
  const Config config = Config(ds.dim, Metric::kL2).index(HnswConfig{}).fsync(FsyncPolicy::never());
  double build_s = 0;
  {
    auto t = std::chrono::steady_clock::now();
    auto db = Database::open(path, config);
    std::vector<VectorId> ids;
    for (size_t i = 0; i < ds.base_rows; ++i) ids.emplace_back(i);
    if (!db || !db->upsert_batch(ids, ds.base).ok()) {
      std::printf("  could not build the database\n");
      return;
    }
    build_s = seconds_since(t);
    if (!db->close().ok()) {
      std::printf("  could not save the database\n");
      return;
    }
  }
  std::vector<double> open_ms, first_query_ms;
  for (int r = 0; r < 7; ++r) {
    auto t = std::chrono::steady_clock::now();
    auto db = Database::open(path, config);
    double open_s = seconds_since(t);
    if (!db) {
      std::printf("  reopen failed: %s\n", db.status().to_string().c_str());
      return;
    }
    t = std::chrono::steady_clock::now();
    auto hits = db->search(std::span<const float>(ds.query(size_t(r)), ds.dim), kRecallK);
    first_query_ms.push_back(seconds_since(t) * 1e3);
    open_ms.push_back(open_s * 1e3);
    // Leave without a snapshot rewrite: nothing changed, so close is a
    // no-op flush of an empty log.
    (void)db->close();
  }
  std::sort(open_ms.begin(), open_ms.end());
  std::sort(first_query_ms.begin(), first_query_ms.end());
  const double open_med = open_ms[open_ms.size() / 2];
  std::printf(
      "  snapshot %.0f MB; cold build %.2f s; reopen median %.2f ms (min %.2f, max %.2f); "
      "first query after reopen %.2f ms\n",
      double(std::filesystem::file_size(path)) / 1e6, build_s, open_med, open_ms.front(),
      open_ms.back(), first_query_ms[first_query_ms.size() / 2]);
  // The background scrub started by open: how long until every checksum
  // of the snapshot has been verified (integrity() polled).
  {
    auto t = std::chrono::steady_clock::now();
    auto db = Database::open(path, config);
    if (db) {
      Result<Integrity> state = db->integrity();
      while (state.ok() && state->state == IntegrityState::kInProgress) {
        std::this_thread::sleep_for(std::chrono::microseconds(500));
        state = db->integrity();
      }
      const double scrub_s = seconds_since(t);
      std::printf("  background scrub: %s after %.0f ms (%.0f MB)\n",
                  state.ok() ? integrity_state_name(state->state) : "closed", scrub_s * 1e3,
                  state.ok() ? double(state->total_bytes) / 1e6 : 0.0);
      (void)db->close();
    }
  }
  report.ratio("reopen 60k x 784 HNSW: milliseconds (median of 7)", open_med);
  report.ratio("cold build / reopen time", build_s * 1e3 / open_med);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace iqdb::bench
