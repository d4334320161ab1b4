// crash_writer PATH SEED THREADS INDEX: writes records to the database at
// PATH until killed, printing "<id>\n" for every record whose write was
// acknowledged. crash_test kills it with SIGKILL at a random moment and
// checks that every printed id survived.
//
// Record i: vector and metadata derived from i (crash_record.h); ids are
// spread over threads (thread t writes ids = t mod THREADS). Every 7th write
// is a batch of 4 records.
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "integration/crash_record.h"
#include "iqdb/iqdb.hpp"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: crash_writer PATH SEED THREADS flat|hnsw\n");
    return 2;
  }
  const std::string path = argv[1];
  const uint64_t seed = std::strtoull(argv[2], nullptr, 10);
  const int threads = std::atoi(argv[3]);
  iqdb::Config config(iqdb::crash::kDim, iqdb::Metric::kL2);
  if (std::string(argv[4]) == "hnsw")
    config.index(iqdb::HnswConfig{}.with_m(8).with_ef_construction(32));
  auto db = iqdb::Database::open(path, config);
  if (!db) {
    std::fprintf(stderr, "crash_writer: %s\n", db.status().to_string().c_str());
    return 1;
  }
  std::mutex out_mu;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (uint64_t n = 0;; ++n) {
        uint64_t id = seed * 1'000'000 + n * uint64_t(threads) + uint64_t(t);
        if (n % 7 == 6) {
          std::vector<iqdb::VectorId> ids;
          std::vector<float> rows;
          std::vector<iqdb::Metadata> metas;
          for (int b = 0; b < 4; ++b) {
            uint64_t bid = id * 10 + uint64_t(b) + 500'000'000;
            ids.emplace_back(bid);
            auto v = iqdb::crash::vector_for(bid);
            rows.insert(rows.end(), v.begin(), v.end());
            metas.push_back(iqdb::crash::metadata_for(bid));
          }
          std::vector<const iqdb::Metadata*> ptrs = {&metas[0], &metas[1], &metas[2], &metas[3]};
          if (!db->upsert_batch(ids, rows, ptrs).ok()) std::abort();
          std::lock_guard l(out_mu);
          for (const auto& i : ids)
            std::printf("%llu\n", static_cast<unsigned long long>(i.as_u64()));
          std::fflush(stdout);
        } else {
          auto m = iqdb::crash::metadata_for(id);
          if (!db->upsert(id, iqdb::crash::vector_for(id), &m).ok()) std::abort();
          std::lock_guard l(out_mu);
          std::printf("%llu\n", static_cast<unsigned long long>(id));
          std::fflush(stdout);
        }
      }
    });
  }
  for (auto& w : workers) w.join();
}
