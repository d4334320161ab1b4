// iqdb-writes: durable write throughput under each fsync policy with 1, 2,
// 4 and 8 writer threads, next to the one-fsync-per-write baseline measured
// in the same run (every write appended and fdatasync'ed on its own behind
// one lock, as a database without group commit does). Then search QPS with
// and without writers running.
//
//   iqdb-writes [--seconds S] [--dir DIR]
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "iqdb/iqdb.hpp"

using namespace iqdb;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kDim = 128;

std::vector<float> row(uint64_t i) {
  std::vector<float> v(kDim);
  for (size_t d = 0; d < kDim; ++d) v[d] = float((i * 131 + d * 7) % 1000) / 100.0f;
  return v;
}

// Records per second that `threads` writers acknowledge in `seconds`.
template <typename WriteOne>
double run_writers(int threads, double seconds, WriteOne write_one) {
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> done{0};
  std::vector<std::thread> pool;
  auto start = Clock::now();
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (uint64_t n = 0; !stop.load(std::memory_order_relaxed); ++n) {
        write_one(uint64_t(t) << 40 | n);
        done.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& th : pool) th.join();
  return double(done.load()) / std::chrono::duration<double>(Clock::now() - start).count();
}

double baseline(const std::filesystem::path& dir, int threads, double seconds) {
  auto path = dir / "baseline.log";
  int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_APPEND, 0644);
  if (fd < 0) return 0;
  std::mutex mu;
  std::vector<float> payload = row(1);
  double rate = run_writers(threads, seconds, [&](uint64_t) {
    std::lock_guard l(mu);
    if (::write(fd, payload.data(), payload.size() * sizeof(float)) < 0 || ::fdatasync(fd) != 0)
      std::abort();
  });
  ::close(fd);
  std::filesystem::remove(path);
  return rate;
}

double iqdb_rate(const std::filesystem::path& dir, FsyncPolicy policy, int threads,
                 double seconds) {
  auto path = dir / "writes.iqdb";
  std::error_code ec;
  for (const char* suffix : {"", ".wal", ".lock"})
    std::filesystem::remove(path.string() + suffix, ec);
  auto db = Database::open(path, Config(kDim, Metric::kL2).fsync(policy));
  if (!db) {
    std::fprintf(stderr, "iqdb-writes: %s\n", db.status().to_string().c_str());
    std::exit(1);
  }
  double rate = run_writers(threads, seconds, [&](uint64_t id) {
    if (!db->upsert(id, row(id)).ok()) std::abort();
  });
  (void)db->close();
  return rate;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 1.0;
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("iqdb-writes-" + std::to_string(getpid()));
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else if (a == "--dir" && i + 1 < argc) {
      dir = argv[++i];
    } else {
      std::printf("usage: iqdb-writes [--seconds S] [--dir DIR]\n");
      return a == "--help" ? 0 : 2;
    }
  }
  std::filesystem::create_directories(dir);
  std::printf("iqdb-writes: %zu-dim upserts into %s, %.1f s per point, SIMD %s\n\n", kDim,
              dir.c_str(), seconds, simd_target().c_str());
  std::printf("%-8s %16s %14s %16s %12s %18s\n", "writers", "fsync-per-write", "always",
              "periodic(10ms)", "never", "always / baseline");
  double ratio_at_8 = 0;
  for (int threads : {1, 2, 4, 8}) {
    double base = baseline(dir, threads, seconds);
    double always = iqdb_rate(dir, FsyncPolicy::always(), threads, seconds);
    double periodic =
        iqdb_rate(dir, FsyncPolicy::periodic(std::chrono::milliseconds(10)), threads, seconds);
    double never = iqdb_rate(dir, FsyncPolicy::never(), threads, seconds);
    double ratio = base > 0 ? always / base : 0;
    if (threads == 8) ratio_at_8 = ratio;
    std::printf("%-8d %14.0f/s %12.0f/s %14.0f/s %10.0f/s %17.2fx\n", threads, base, always,
                periodic, never, ratio);
  }
  std::printf(
      "\ngroup commit: iqdb always / one-fsync-per-write at 8 writers: %.2fx (target >= 6)\n\n",
      ratio_at_8);

  // Search QPS alone and while 4 writers run (policy always).
  auto path = dir / "search.iqdb";
  auto db = Database::open(
      path, Config(kDim, Metric::kL2).index(HnswConfig{}).fsync(FsyncPolicy::always()));
  std::vector<VectorId> ids;
  std::vector<float> rows;
  for (uint64_t i = 0; i < 20000; ++i) {
    ids.emplace_back(i);
    auto r = row(i * 7919);
    rows.insert(rows.end(), r.begin(), r.end());
  }
  if (!db || !db->upsert_batch(ids, rows).ok()) return 1;
  auto search_qps = [&](double secs) {
    uint64_t n = 0;
    auto start = Clock::now();
    while (std::chrono::duration<double>(Clock::now() - start).count() < secs) {
      (void)db->search(row(n++ * 31), 10);
    }
    return double(n) / std::chrono::duration<double>(Clock::now() - start).count();
  };
  double alone = search_qps(seconds);
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      for (uint64_t n = 0; !stop; ++n) (void)db->upsert(uint64_t(t + 1) << 40 | n, row(n));
    });
  }
  double busy = search_qps(seconds);
  stop = true;
  for (auto& w : writers) w.join();
  std::printf(
      "HNSW search QPS (one thread, 20k x %zu): alone %.0f, with 4 writers (always) %.0f (%.2fx)\n",
      kDim, alone, busy, alone > 0 ? busy / alone : 0);
  (void)db->close();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return 0;
}
