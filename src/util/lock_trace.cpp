#include "util/lock_trace.h"

#if defined(IQDB_LOCK_TRACE)

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <sys/resource.h>
#include <mutex>
#include <vector>

namespace iqdb::util::lock_trace {
namespace {

// Upper bounds of the histogram buckets, in microseconds (the last is open).
constexpr std::array<uint64_t, 5> kBucketUs = {10, 100, 1'000, 10'000, ~uint64_t{0}};

struct Stats {
  uint64_t count = 0, total_ns = 0, max_ns = 0, wait_ns = 0, max_wait_ns = 0, cpu_ns = 0,
           max_cpu_ns = 0;
  std::array<uint64_t, kBucketUs.size()> buckets{};

  void add(uint64_t ns, uint64_t wait, uint64_t cpu = 0) {
    ++count;
    cpu_ns += cpu;
    max_cpu_ns = std::max(max_cpu_ns, cpu);
    total_ns += ns;
    max_ns = std::max(max_ns, ns);
    wait_ns += wait;
    max_wait_ns = std::max(max_wait_ns, wait);
    size_t b = 0;
    while (ns / 1000 >= kBucketUs[b]) ++b;
    ++buckets[b];
  }
};

struct Site {
  const char* file;
  uint32_t line;
  Stats stats;
};

const char* short_name(const char* file) {
  const char* src = std::strstr(file, "src/");
  return src ? src + 4 : file;
}

struct SlowSearch {
  uint64_t count = 0, wall_ns = 0, cpu_ns = 0;
  long minor_faults = 0, major_faults = 0, voluntary = 0, involuntary = 0;
};

class Table {
 public:
  ~Table() { print(); }

  void add_hold(const char* file, uint32_t line, uint64_t wait_ns, uint64_t hold_ns,
                uint64_t cpu_ns) {
    std::lock_guard l(mu_);
    auto it = std::find_if(sites_.begin(), sites_.end(),
                           [&](const Site& s) { return s.file == file && s.line == line; });
    if (it == sites_.end()) it = sites_.insert(sites_.end(), Site{file, line, {}});
    it->stats.add(hold_ns, wait_ns, cpu_ns);
  }
  void add_search(uint64_t wait_ns) {
    std::lock_guard l(mu_);
    searches_.add(wait_ns, wait_ns);
  }
  void add_node_wait(uint64_t wait_ns, bool gave_up) {
    std::lock_guard l(mu_);
    (gave_up ? node_gave_up_ : node_waits_).add(wait_ns, wait_ns);
  }
  void add_slow_search(const SlowSearch& s) {
    std::lock_guard l(mu_);
    ++slow_.count;
    slow_.wall_ns += s.wall_ns;
    slow_.cpu_ns += s.cpu_ns;
    slow_.minor_faults += s.minor_faults;
    slow_.major_faults += s.major_faults;
    slow_.voluntary += s.voluntary;
    slow_.involuntary += s.involuntary;
    if (slowest_.size() < kSlowest) {
      slowest_.push_back(s);
    } else {
      auto least = std::min_element(slowest_.begin(), slowest_.end(), by_wall);
      if (least->wall_ns < s.wall_ns) *least = s;
    }
  }

 private:
  static void line(const char* name, const Stats& s) {
    std::fprintf(stderr, "%-28s %9llu %10.1f %10.1f", name,
                 static_cast<unsigned long long>(s.count), double(s.total_ns) / 1e3,
                 double(s.max_ns) / 1e3);
    for (uint64_t b : s.buckets) std::fprintf(stderr, " %8llu", static_cast<unsigned long long>(b));
    std::fprintf(stderr, " %10.1f %10.1f %10.1f %10.1f\n", double(s.wait_ns) / 1e3,
                 double(s.max_wait_ns) / 1e3, double(s.cpu_ns) / 1e3, double(s.max_cpu_ns) / 1e3);
  }

  void print() {
    std::lock_guard l(mu_);
    std::sort(sites_.begin(), sites_.end(),
              [](const Site& a, const Site& b) { return a.stats.max_ns > b.stats.max_ns; });
    std::fprintf(stderr,
                 "\nlock trace: exclusive holds of the readers' lock by call site (us)\n"
                 "%-28s %9s %10s %10s %8s %8s %8s %8s %8s %10s %10s %10s %10s\n",
                 "site", "count", "total", "max", "<10", "<100", "<1000", "<10000", ">=10000",
                 "wait", "max wait", "cpu", "max cpu");
    for (const Site& s : sites_) {
      char name[64];
      std::snprintf(name, sizeof name, "%s:%u", short_name(s.file), s.line);
      line(name, s.stats);
    }
    std::fprintf(stderr, "searches waiting for the lock shared (us; wait = hold here)\n");
    line("search", searches_);
    std::fprintf(stderr, "graph readers waiting on a node a writer held (us; wait = hold here)\n");
    line("node, then consistent", node_waits_);
    line("node, took it as it stood", node_gave_up_);
    std::fprintf(stderr,
                 "searches over 1 ms: %llu; wall %.1f us, cpu %.1f us, minor faults %ld, major "
                 "faults %ld, voluntary switches %ld, involuntary switches %ld\n",
                 static_cast<unsigned long long>(slow_.count), double(slow_.wall_ns) / 1e3,
                 double(slow_.cpu_ns) / 1e3, slow_.minor_faults, slow_.major_faults,
                 slow_.voluntary, slow_.involuntary);
    std::sort(slowest_.begin(), slowest_.end(),
              [](const SlowSearch& a, const SlowSearch& b) { return by_wall(b, a); });
    for (const SlowSearch& s : slowest_) {
      std::fprintf(stderr,
                   "  slow search: wall %.1f us, cpu %.1f us, faults %ld minor %ld major, "
                   "switches %ld voluntary %ld involuntary\n",
                   double(s.wall_ns) / 1e3, double(s.cpu_ns) / 1e3, s.minor_faults, s.major_faults,
                   s.voluntary, s.involuntary);
    }
  }
  static bool by_wall(const SlowSearch& a, const SlowSearch& b) { return a.wall_ns < b.wall_ns; }
  static constexpr size_t kSlowest = 8;

  std::mutex mu_;
  std::vector<Site> sites_;
  Stats searches_, node_waits_, node_gave_up_;
  SlowSearch slow_;
  std::vector<SlowSearch> slowest_;
};

Table& table() {
  static Table t;
  return t;
}

thread_local const char* site_file = "(unnamed)";
thread_local uint32_t site_line = 0;

}  // namespace

void set_site(const char* file, uint32_t line) noexcept {
  site_file = file;
  site_line = line;
}

void exclusive_step(uint64_t wait_ns, uint64_t hold_ns, uint64_t cpu_ns) noexcept {
  try {
    table().add_hold(site_file, site_line, wait_ns, hold_ns, cpu_ns);
  } catch (...) {
    // A measuring aid: a failed allocation loses one sample.
  }
}

void search_wait(uint64_t wait_ns) noexcept {
  try {
    table().add_search(wait_ns);
  } catch (...) {
  }
}

void node_wait(uint64_t wait_ns, bool gave_up) noexcept {
  try {
    table().add_node_wait(wait_ns, gave_up);
  } catch (...) {
  }
}

namespace {

rusage thread_usage() noexcept {
  rusage u{};
  getrusage(RUSAGE_THREAD, &u);
  return u;
}

}  // namespace

SearchScope::SearchScope() noexcept : wall_ns_(now_ns()), cpu_ns_(thread_cpu_ns()) {
  const rusage u = thread_usage();
  minor_faults_ = u.ru_minflt;
  major_faults_ = u.ru_majflt;
  voluntary_ = u.ru_nvcsw;
  involuntary_ = u.ru_nivcsw;
}

SearchScope::~SearchScope() {
  const uint64_t wall = now_ns() - wall_ns_;
  if (wall < 1'000'000) return;
  const rusage u = thread_usage();
  SlowSearch s;
  s.count = 1;
  s.wall_ns = wall;
  s.cpu_ns = thread_cpu_ns() - cpu_ns_;
  s.minor_faults = u.ru_minflt - minor_faults_;
  s.major_faults = u.ru_majflt - major_faults_;
  s.voluntary = u.ru_nvcsw - voluntary_;
  s.involuntary = u.ru_nivcsw - involuntary_;
  try {
    table().add_slow_search(s);
  } catch (...) {
  }
}

uint64_t now_ns() noexcept {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

uint64_t thread_cpu_ns() noexcept {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<uint64_t>(t.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(t.tv_nsec);
}

}  // namespace iqdb::util::lock_trace

#endif  // IQDB_LOCK_TRACE
