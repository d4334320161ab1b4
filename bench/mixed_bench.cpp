// iqdb-mixed: search tail latency while writers upsert, on the public API.
//
// Fashion-MNIST (Debian's dataset-fashion-mnist): the first --rows train
// images are loaded in one batch into a file-backed database (HNSW M=16, then
// IVF) under FsyncPolicy::always() and flushed. One thread then searches one
// test query at a time (k 10, ef 32) for --seconds, alone and while 1 and 2
// writer threads upsert the remaining train images as new rows (a phase
// ends early when they run out, so each is measured under its writers), and the
// latency percentiles of each phase are printed with their ratio to the
// phase without writers (the machine may be shared: compare within a run).
//
// Afterwards the rows written one at a time while searches ran are loaded
// into a second database in one batch, and recall@10 of both (against exact
// search) is printed: writing while searching must not cost graph quality.
//
// First, the machine itself: how long a thread spinning on a core goes
// without running, alone and while another thread fsyncs small writes in
// the same directory (no iqdb involved). On a virtual machine whose block
// device is emulated in CPU time charged to it, fsyncs can take the vCPUs
// away for milliseconds; a search's maximum under fsyncing writers cannot
// be lower than that.
//
// With --slow US, the slowest dozen searches over US microseconds of each
// phase are printed with their start within the phase and their
// CLOCK_MONOTONIC start time, to match against a scheduler trace such as
// `perf sched record -k mono`.
//
// With --replace, writers upsert the loaded rows again (each with its own
// image, in turn) instead of new ones: every write is a replace, the row
// count stays the same in every phase, and phases never run out of rows.
//
//   iqdb-mixed [--rows N] [--seconds S] [--queries Q] [--dir DIR] [--index hnsw|ivf|both]
//              [--slow US] [--replace]
#include <fcntl.h>
#include <time.h>
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

#include "dataset/idx.h"
#include "iqdb/iqdb.hpp"

using namespace iqdb;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  size_t rows = 50'000;
  double seconds = 3.0;
  size_t recall_queries = 300;
  std::filesystem::path dir;
  bool hnsw = true;
  bool ivf = true;
  double slow_us = 0;    // 0: slow searches are not listed
  bool replace = false;  // writers replace loaded rows instead of adding new ones
};

struct Slow {
  double start_ms;     // within the phase
  double monotonic_s;  // CLOCK_MONOTONIC at its start
  double us;
};

double monotonic_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

struct Latency {
  double p50 = 0, p99 = 0, p999 = 0, max = 0;  // microseconds
  size_t searches = 0;
};

Latency summarise(std::vector<double> us) {
  Latency l;
  l.searches = us.size();
  if (us.empty()) return l;
  std::sort(us.begin(), us.end());
  auto at = [&](double q) { return us[std::min(us.size() - 1, size_t(q * double(us.size())))]; };
  l.p50 = at(0.50);
  l.p99 = at(0.99);
  l.p999 = at(0.999);
  l.max = us.back();
  return l;
}

[[noreturn]] void fail(const char* what, const Status& s) {
  std::fprintf(stderr, "iqdb-mixed: %s: %s\n", what, s.to_string().c_str());
  std::exit(1);
}

void remove_files(const std::filesystem::path& path) {
  std::error_code ec;
  for (const char* suffix : {"", ".wal", ".lock", ".tmp"})
    std::filesystem::remove(path.string() + suffix, ec);
}

// The rows writers take, in the order they were acknowledged.
struct Written {
  std::mutex mu;
  std::vector<uint64_t> ids;
};

class Workload {
 public:
  Workload(const Options& o, const dataset::FashionMnist& data) : o_(o), data_(data) {}

  // Search latencies for `seconds` while `writers` threads upsert new rows.
  // Returns the latencies and sets `write_rate`.
  Latency phase(Database& db, int writers, double& write_rate, Written& written) {
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> writes{0};
    // Writers still writing: the phase ends when the spare rows run out, so
    // every latency in it is measured under `writers` writers.
    std::atomic<int> writing{writers};
    std::vector<std::thread> pool;
    for (int t = 0; t < writers; ++t) {
      pool.emplace_back([&] {
        const size_t dim = data_.dim;
        while (!stop.load(std::memory_order_relaxed)) {
          // --replace: the loaded rows again, each with its own image, in
          // turn (the contents stay the same; every write is a replace).
          const uint64_t row =
              o_.replace ? replaced_row_.fetch_add(1) % o_.rows : next_row_.fetch_add(1);
          if (row >= data_.train_rows()) {  // every spare row written
            writing.fetch_sub(1);
            break;
          }
          Status s = db.upsert(row, std::span(data_.train).subspan(row * dim, dim));
          if (!s.ok()) fail("upsert", s);
          writes.fetch_add(1, std::memory_order_relaxed);
          if (o_.replace) continue;
          std::lock_guard l(written.mu);
          written.ids.push_back(row);
        }
      });
    }
    std::vector<double> us;
    std::vector<Slow> slow;
    SearchParams params;
    params.k = 10;
    params.ef = 32;
    const auto start = Clock::now();
    for (size_t q = 0; std::chrono::duration<double>(Clock::now() - start).count() < o_.seconds &&
                       (writers == 0 || writing.load(std::memory_order_relaxed) == writers);
         ++q) {
      auto query = std::span(data_.test).subspan((q % data_.test_rows()) * data_.dim, data_.dim);
      const double mono0 = o_.slow_us > 0 ? monotonic_seconds() : 0;
      const auto t0 = Clock::now();
      auto hits = db.search(query, params);
      const auto t1 = Clock::now();
      if (!hits) fail("search", hits.status());
      us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
      if (o_.slow_us > 0 && us.back() > o_.slow_us) {
        slow.push_back(
            {std::chrono::duration<double, std::milli>(t0 - start).count(), mono0, us.back()});
      }
    }
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    stop = true;
    for (auto& th : pool) th.join();
    write_rate = double(writes.load()) / elapsed;
    if (elapsed < o_.seconds) {
      std::printf("  %d writers: the spare rows ran out after %.2f s; the phase ends there\n",
                  writers, elapsed);
    }
    // The slowest few, in the order they ran.
    constexpr size_t kListed = 12;
    if (slow.size() > kListed) {
      std::nth_element(slow.begin(), slow.begin() + kListed, slow.end(),
                       [](const Slow& a, const Slow& b) { return a.us > b.us; });
      slow.resize(kListed);
    }
    std::sort(slow.begin(), slow.end(),
              [](const Slow& a, const Slow& b) { return a.start_ms < b.start_ms; });
    for (const Slow& w : slow) {
      std::printf("  slow search, %d writers: %.0f us at %.3f ms into the phase (monotonic %.6f)\n",
                  writers, w.us, w.start_ms, w.monotonic_s);
    }
    return summarise(std::move(us));
  }

  void set_first_spare_row(uint64_t row) { next_row_ = row; }

 private:
  const Options& o_;
  const dataset::FashionMnist& data_;
  std::atomic<uint64_t> next_row_{0};
  std::atomic<uint64_t> replaced_row_{0};
};

// Recall@10 at ef 32 against exact search, over the first `queries` tests.
double recall(Database& db, const dataset::FashionMnist& data, size_t queries) {
  SearchParams approx, exact;
  approx.k = exact.k = 10;
  approx.ef = 32;
  exact.exact = true;
  size_t found = 0, wanted = 0;
  for (size_t q = 0; q < queries; ++q) {
    auto query = std::span(data.test).subspan(q * data.dim, data.dim);
    auto a = db.search(query, approx);
    auto e = db.search(query, exact);
    if (!a || !e) fail("recall search", a ? e.status() : a.status());
    for (const Hit& h : *e) {
      ++wanted;
      for (const Hit& g : *a) found += g.id == h.id;
    }
  }
  return wanted ? double(found) / double(wanted) : 0;
}

Status load_rows(Database& db, const dataset::FashionMnist& data, std::span<const uint64_t> rows) {
  std::vector<VectorId> ids;
  std::vector<float> floats;
  ids.reserve(rows.size());
  floats.reserve(rows.size() * data.dim);
  for (uint64_t r : rows) {
    ids.emplace_back(r);
    floats.insert(floats.end(), data.train.begin() + long(r * data.dim),
                  data.train.begin() + long((r + 1) * data.dim));
  }
  return db.upsert_batch(ids, floats);
}

void run(const Options& o, const dataset::FashionMnist& data, const char* name,
         const IndexKind& index) {
  const auto path = o.dir / (std::string("mixed-") + name + ".iqdb");
  remove_files(path);
  const Config config = Config(data.dim, Metric::kL2).index(index).fsync(FsyncPolicy::always());
  // Measured as a service that searches while it writes would run it:
  // writes leave searches a core.
  const size_t hardware = std::max(1u, std::thread::hardware_concurrency());
  auto db = Database::open(path, Config(config).write_threads(hardware > 1 ? hardware - 1 : 1));
  if (!db) fail("open", db.status());
  std::vector<uint64_t> base(o.rows);
  for (size_t i = 0; i < o.rows; ++i) base[i] = i;
  if (Status s = load_rows(*db, data, base); !s.ok()) fail("load", s);
  if (Status s = db->flush(); !s.ok()) fail("flush", s);

  Workload work(o, data);
  work.set_first_spare_row(o.rows);
  Written written;
  std::printf("\n%s, %zu rows, file-backed, fsync always; search k 10 ef 32, one at a time\n", name,
              o.rows);
  std::printf("%-10s %9s %9s %9s %9s %10s %9s %9s %9s %11s\n", "writers", "searches", "p50 us",
              "p99 us", "p99.9 us", "max us", "p99 x", "p99.9 x", "max x", "upserts/s");
  Latency alone;
  for (int writers : {0, 1, 2}) {
    double rate = 0;
    Latency l = work.phase(*db, writers, rate, written);
    if (writers == 0) alone = l;
    auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
    std::printf("%-10d %9zu %9.0f %9.0f %9.0f %10.0f %8.2fx %8.2fx %8.2fx %11.0f\n", writers,
                l.searches, l.p50, l.p99, l.p999, l.max, ratio(l.p99, alone.p99),
                ratio(l.p999, alone.p999), ratio(l.max, alone.max), rate);
  }

  // The same rows in one batch, in memory (the index is what differs).
  auto batch = Database::open_in_memory(Config(data.dim, Metric::kL2)
                                            .index(index)
                                            .write_threads(std::thread::hardware_concurrency()));
  if (!batch) fail("open_in_memory", batch.status());
  std::vector<uint64_t> all = base;
  all.insert(all.end(), written.ids.begin(), written.ids.end());
  if (Status s = load_rows(*batch, data, all); !s.ok()) fail("batch load", s);
  const size_t queries = std::min(o.recall_queries, data.test_rows());
  const double r_written = recall(*db, data, queries);
  const double r_batch = recall(*batch, data, queries);
  std::printf(
      "recall@10 ef 32 over %zu queries, %zu rows: written while searching %.4f, "
      "loaded in one batch %.4f (difference %+.4f)\n",
      queries, all.size(), r_written, r_batch, r_written - r_batch);
  if (Status s = db->close(); !s.ok()) fail("close", s);
  remove_files(path);
}

// The longest time, and how many times over 1 ms, a thread spinning on the
// clock for `seconds` went without running.
struct Gaps {
  double longest_us = 0;
  size_t over_1ms = 0;
};

Gaps spin_gaps(double seconds) {
  Gaps g;
  const auto start = Clock::now();
  auto last = start;
  for (auto now = start; std::chrono::duration<double>(now - start).count() < seconds;
       now = Clock::now()) {
    const double gap = std::chrono::duration<double, std::micro>(now - last).count();
    g.longest_us = std::max(g.longest_us, gap);
    if (gap > 1000) ++g.over_1ms;
    last = now;
  }
  return g;
}

void machine_stalls(const std::filesystem::path& dir) {
  constexpr double kSeconds = 2.0;
  const Gaps alone = spin_gaps(kSeconds);
  const auto file = dir / "fsync-probe";
  const int fd = ::open(file.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
  if (fd < 0) {
    std::printf("machine: cannot create %s; no fsync probe\n", file.c_str());
    return;
  }
  std::atomic<bool> stop{false};
  size_t syncs = 0;
  std::thread syncer([&] {
    const std::vector<char> record(3200, 'x');  // about one upsert's log record
    while (!stop.load(std::memory_order_relaxed)) {
      if (::write(fd, record.data(), record.size()) < 0 || ::fdatasync(fd) != 0) break;
      ++syncs;
    }
  });
  const Gaps syncing = spin_gaps(kSeconds);
  stop = true;
  syncer.join();
  ::close(fd);
  std::filesystem::remove(file);
  std::printf(
      "machine: a thread spinning %.0f s went at most %.0f us without running (%zu times over "
      "1 ms); while another thread fsynced %.0f small writes/s in %s, at most %.0f us (%zu times "
      "over 1 ms)\n",
      kSeconds, alone.longest_us, alone.over_1ms, double(syncs) / kSeconds, dir.c_str(),
      syncing.longest_us, syncing.over_1ms);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  o.dir = std::filesystem::temp_directory_path() / ("iqdb-mixed-" + std::to_string(getpid()));
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--rows" && has_value) {
      o.rows = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--seconds" && has_value) {
      o.seconds = std::atof(argv[++i]);
    } else if (a == "--queries" && has_value) {
      o.recall_queries = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--dir" && has_value) {
      o.dir = argv[++i];
    } else if (a == "--replace") {
      o.replace = true;
    } else if (a == "--slow" && has_value) {
      o.slow_us = std::atof(argv[++i]);
    } else if (a == "--index" && has_value) {
      const std::string v = argv[++i];
      o.hnsw = v == "hnsw" || v == "both";
      o.ivf = v == "ivf" || v == "both";
    } else {
      std::printf(
          "usage: iqdb-mixed [--rows N] [--seconds S] [--queries Q] [--dir DIR] "
          "[--index hnsw|ivf|both] [--slow US] [--replace]\n");
      return a == "--help" ? 0 : 2;
    }
  }
  auto data = dataset::load_fashion_mnist();
  if (!data) fail("Fashion-MNIST", data.status());
  o.rows = std::min(o.rows, data->train_rows());
  std::filesystem::create_directories(o.dir);
  if (o.replace) {
    std::printf("iqdb-mixed: SIMD %s, %.1f s per phase, writers replace the %zu loaded rows\n",
                simd_target().c_str(), o.seconds, o.rows);
  } else {
    std::printf("iqdb-mixed: SIMD %s, %.1f s per phase, %zu spare rows for writers\n",
                simd_target().c_str(), o.seconds, data->train_rows() - o.rows);
  }
  machine_stalls(o.dir);
  if (o.hnsw) run(o, *data, "HNSW M=16", HnswConfig{}.with_m(16));
  if (o.ivf) run(o, *data, "IVF", IvfConfig{});
  std::error_code ec;
  std::filesystem::remove_all(o.dir, ec);
  return 0;
}
