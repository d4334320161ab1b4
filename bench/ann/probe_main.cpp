// iqdb-ann-probe: one HNSW search configuration, repeatable under a
// profiler. `build` writes a database file (M = 16, ef_construction 200,
// the bench's settings) with the queries and their exact neighbours beside
// it; `query` reopens it and runs the queries through Database::search at
// one ef, so a profiler sees only searches, e.g.
//
//   iqdb-ann-probe build DIR rotated
//   valgrind --tool=callgrind --toggle-collect='iqdb::Database::search*'
//            iqdb-ann-probe query DIR 32 500        (one command line)
//
// `query` prints recall@10 and queries per second of thread CPU time
// (steadier than wall time on a shared machine).
//
//   iqdb-ann-probe build DIR plain|rotated [--data DIR] [--queries N]
//   iqdb-ann-probe query DIR EF [QUERIES] [PASSES]
#include <time.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "ann/ann.h"
#include "dataset/idx.h"
#include "iqdb/iqdb.hpp"

namespace iqdb::bench {
namespace {

int usage() {
  std::fprintf(stderr,
               "usage: iqdb-ann-probe build DIR plain|rotated [--data DIR] [--queries N]\n"
               "       iqdb-ann-probe query DIR EF [QUERIES] [PASSES]\n");
  return 2;
}

double thread_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

// queries.bin: u64 rows, u64 dim, rows x dim f32, rows x kRecallK u32.
int build(const std::filesystem::path& dir, bool rotated, const std::string& data, size_t queries) {
  auto plain = load_dataset(data, queries);
  if (!plain) {
    std::fprintf(stderr, "iqdb-ann-probe: %s\n", plain.status().to_string().c_str());
    return 1;
  }
  Result<Dataset> ds = rotated ? rotated_dataset(*plain) : std::move(plain);
  if (!ds) {
    std::fprintf(stderr, "iqdb-ann-probe: %s\n", ds.status().to_string().c_str());
    return 1;
  }
  std::filesystem::create_directories(dir);
  auto db = Database::open(
      dir / "db",
      Config(ds->dim, Metric::kL2).index(HnswConfig{}.with_m(16).with_ef_construction(200)));
  std::vector<VectorId> ids;
  for (size_t i = 0; i < ds->base_rows; ++i) ids.emplace_back(i);
  Status st = db ? db->upsert_batch(ids, ds->base) : db.status();
  if (st.ok()) st = db->close();
  if (!st.ok()) {
    std::fprintf(stderr, "iqdb-ann-probe: %s\n", st.to_string().c_str());
    return 1;
  }
  std::ofstream out(dir / "queries.bin", std::ios::binary);
  const uint64_t head[2] = {ds->query_rows, ds->dim};
  out.write(reinterpret_cast<const char*>(head), sizeof(head));
  out.write(reinterpret_cast<const char*>(ds->queries.data()),
            std::streamsize(ds->queries.size() * sizeof(float)));
  out.write(reinterpret_cast<const char*>(ds->truth.data()),
            std::streamsize(ds->truth.size() * sizeof(uint32_t)));
  return out ? 0 : 1;
}

int query(const std::filesystem::path& dir, size_t ef, size_t limit, int passes) {
  std::ifstream in(dir / "queries.bin", std::ios::binary);
  uint64_t head[2] = {0, 0};
  in.read(reinterpret_cast<char*>(head), sizeof(head));
  const size_t rows = head[0], dim = head[1];
  std::vector<float> queries(rows * dim);
  std::vector<uint32_t> truth(rows * kRecallK);
  in.read(reinterpret_cast<char*>(queries.data()), std::streamsize(queries.size() * sizeof(float)));
  in.read(reinterpret_cast<char*>(truth.data()), std::streamsize(truth.size() * sizeof(uint32_t)));
  if (!in || dim == 0) {
    std::fprintf(stderr, "iqdb-ann-probe: cannot read %s\n", (dir / "queries.bin").c_str());
    return 1;
  }
  auto db = Database::open(dir / "db");
  if (!db) {
    std::fprintf(stderr, "iqdb-ann-probe: %s\n", db.status().to_string().c_str());
    return 1;
  }
  const size_t n = limit != 0 && limit < rows ? limit : rows;
  SearchParams params;
  params.k = kRecallK;
  params.ef = ef;
  size_t found = 0;
  const double start = thread_seconds();
  for (int pass = 0; pass < passes; ++pass) {
    for (size_t q = 0; q < n; ++q) {
      auto hits = db->search(std::span<const float>(queries.data() + q * dim, dim), params);
      if (!hits) {
        std::fprintf(stderr, "iqdb-ann-probe: %s\n", hits.status().to_string().c_str());
        return 1;
      }
      if (pass != 0) continue;
      for (const Hit& h : *hits) {
        for (size_t j = 0; j < kRecallK; ++j) {
          if (truth[q * kRecallK + j] == h.id.as_u64()) {
            ++found;
            break;
          }
        }
      }
    }
  }
  const double seconds = thread_seconds() - start;
  std::printf("ef=%zu queries=%zu recall@10=%.4f qps(cpu)=%.0f\n", ef, n,
              double(found) / double(n * kRecallK), double(n) * passes / seconds);
  return 0;
}

}  // namespace
}  // namespace iqdb::bench

int main(int argc, char** argv) {
  using namespace iqdb::bench;
  if (argc < 4) return usage();
  const std::string mode = argv[1];
  const std::filesystem::path dir = argv[2];
  if (mode == "build") {
    const std::string which = argv[3];
    if (which != "plain" && which != "rotated") return usage();
    std::string data = iqdb::dataset::kFashionMnistDir;
    size_t queries = 2000;
    for (int i = 4; i + 1 < argc; i += 2) {
      const std::string a = argv[i];
      if (a == "--data") {
        data = argv[i + 1];
      } else if (a == "--queries") {
        queries = std::strtoull(argv[i + 1], nullptr, 10);
      } else {
        return usage();
      }
    }
    return build(dir, which == "rotated", data, queries);
  }
  if (mode == "query") {
    const size_t ef = std::strtoull(argv[3], nullptr, 10);
    const size_t limit = argc > 4 ? std::strtoull(argv[4], nullptr, 10) : 0;
    const int passes = argc > 5 ? std::atoi(argv[5]) : 1;
    if (ef == 0 || passes < 1) return usage();
    return query(dir, ef, limit, passes);
  }
  return usage();
}
