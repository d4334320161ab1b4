// big_batch_writer PATH: writes the marker rows one by one, prints "ready",
// writes the big batch (big_batch.h) in one upsert_batch, prints "done" once
// it is acknowledged, then waits to be killed. big_batch_test kills it with
// SIGKILL in the middle of logging the batch, or after it.
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "iqdb/iqdb.hpp"
#include "slow/big_batch.h"

int main(int argc, char** argv) {
  using namespace iqdb;
  if (argc != 2) {
    std::fprintf(stderr, "usage: big_batch_writer PATH\n");
    return 2;
  }
  auto db = Database::open(argv[1], Config(big_batch::kDim, Metric::kL2));
  if (!db) {
    std::fprintf(stderr, "big_batch_writer: %s\n", db.status().to_string().c_str());
    return 1;
  }
  for (uint64_t i = 0; i < big_batch::kMarkers; ++i) {
    if (!db->upsert(i, big_batch::row(i)).ok()) return 1;
  }
  const std::vector<float> rows = big_batch::rows();
  std::vector<VectorId> ids;
  ids.reserve(big_batch::kRows);
  for (uint64_t r = 0; r < big_batch::kRows; ++r) ids.emplace_back(big_batch::kFirstId + r);
  std::printf("ready\n");
  std::fflush(stdout);
  Status s = db->upsert_batch(ids, rows);
  if (!s.ok()) {
    std::fprintf(stderr, "big_batch_writer: %s\n", s.to_string().c_str());
    return 1;
  }
  std::printf("done\n");
  std::fflush(stdout);
  for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
}
