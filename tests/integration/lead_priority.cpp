// A process of its own in which the first parallel work is a write's, run
// by the database's below-normal lead thread (db/database_impl.h). A
// thread inherits its creator's priority, and TBB starts its workers from
// the first thread that needs them: this checks that none was started from
// the lead. Afterwards exactly one thread (the lead, "iqdb-write") runs
// below the process's priority. Exit 0 when so, 1 with the threads listed
// otherwise, 77 (skipped) off Linux, where nice is not per thread.
#include <cstdio>

#if defined(__linux__)
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "iqdb/iqdb.hpp"

int main() {
  using namespace iqdb;
  constexpr size_t kDim = 8;
  auto db = Database::open_in_memory(
      Config(kDim, Metric::kL2).index(HnswConfig{}.with_m(6).with_ef_construction(32)));
  if (!db) return std::fprintf(stderr, "open: %s\n", db.status().to_string().c_str()), 1;
  // A search first: the writes below yield to searches.
  if (!db->search(std::vector<float>(kDim, 1.0f), SearchParams{}).ok()) return 1;
  std::vector<VectorId> ids;
  std::vector<float> rows;
  for (uint64_t i = 0; i < 2000; ++i) {
    ids.emplace_back(i);
    for (size_t d = 0; d < kDim; ++d) rows.push_back(float((i * 29 + d * 13) % 97));
  }
  if (Status s = db->upsert_batch(ids, rows); !s.ok()) {
    return std::fprintf(stderr, "upsert_batch: %s\n", s.to_string().c_str()), 1;
  }
  const int normal = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
  int leads = 0, wrong = 0;
  std::string threads;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    std::getline(comm, name);
    const int nice =
        getpriority(PRIO_PROCESS, static_cast<id_t>(std::stoi(task.path().filename().string())));
    threads += "  " + name + " nice " + std::to_string(nice) + "\n";
    if (name == "iqdb-write") {
      ++leads;
      if (nice != std::min(19, normal + 10)) ++wrong;
    } else if (nice != normal) {
      ++wrong;
    }
  }
  if (leads != 1 || wrong != 0) {
    std::fprintf(stderr, "expected one lead thread below nice %d and every other thread at it:\n%s",
                 normal, threads.c_str());
    return 1;
  }
  std::printf("lead_priority: one lead thread below normal, every other thread at nice %d\n",
              normal);
  return 0;
}
#else
int main() {
  std::printf("lead_priority: nice is per thread only on Linux; skipped\n");
  return 77;
}
#endif
