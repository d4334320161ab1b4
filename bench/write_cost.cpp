// iqdb-write-cost: the cost of in-memory upserts, for an instruction
// counter rather than a clock. It opens an in-memory database, upserts
// --warm rows (not measured), then upserts --rows more inside
// measured_upserts(), which is all a profiler should count:
//
//   valgrind --tool=callgrind --toggle-collect='*measured_upserts*'
//       iqdb-write-cost --index flat --metadata 1
//
// and divide the instructions by --rows. Vectors and metadata are built
// before the measured call, so only the upserts themselves are counted.
// Metadata, when on, is three fields: an int category of 10 values, a
// string tag of 100 values and a double.
//
//   iqdb-write-cost [--index flat|hnsw] [--metadata 0|1] [--warm N]
//                   [--rows N] [--replace 0|1]
//
// With --replace 1 the measured upserts overwrite the warm rows' ids (each
// with a new vector and new metadata values) instead of adding rows.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "iqdb/iqdb.hpp"

using namespace iqdb;

namespace {

constexpr size_t kDim = 128;

void fill_row(uint64_t i, float* out) {
  // A cheap deterministic spread (xorshift), different for every row.
  uint64_t s = i * 0x9E3779B97F4A7C15ull + 1;
  for (size_t d = 0; d < kDim; ++d) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    out[d] = float(s % 2000) / 1000.0f - 1.0f;
  }
}

Metadata metadata_for(uint64_t i) {
  Metadata m;
  m.set("category", Value(int64_t(i % 10)));
  m.set("tag", Value("tag-" + std::to_string((i * 7) % 100)));
  m.set("score", Value(double(i % 997) * 0.25));
  return m;
}

struct Batch {
  std::vector<uint64_t> ids;
  std::vector<float> rows;
  std::vector<Metadata> metadata;
};

Batch make_batch(uint64_t first_id, uint64_t first_seed, size_t n, bool with_metadata) {
  Batch b;
  b.rows.resize(n * kDim);
  for (size_t i = 0; i < n; ++i) {
    b.ids.push_back(first_id + i);
    fill_row(first_seed + i, b.rows.data() + i * kDim);
    if (with_metadata) b.metadata.push_back(metadata_for(first_seed + i));
  }
  return b;
}

int upsert_all(Database& db, const Batch& b) {
  for (size_t i = 0; i < b.ids.size(); ++i) {
    const Metadata* meta = b.metadata.empty() ? nullptr : &b.metadata[i];
    Status s = db.upsert(b.ids[i], std::span<const float>(b.rows.data() + i * kDim, kDim), meta);
    if (!s.ok()) {
      std::fprintf(stderr, "upsert %zu: %s\n", i, s.to_string().c_str());
      return 1;
    }
  }
  return 0;
}

// The profiled region: keep it out of line so --toggle-collect finds it.
[[gnu::noinline]] int measured_upserts(Database& db, const Batch& b) { return upsert_all(db, b); }

size_t parse_size(const char* s) { return static_cast<size_t>(std::strtoull(s, nullptr, 10)); }

}  // namespace

int main(int argc, char** argv) {
  std::string index = "flat";
  bool with_metadata = true;
  bool replace = false;
  size_t warm = 2000;
  size_t rows = 2000;
  for (int a = 1; a + 1 < argc; a += 2) {
    const std::string flag = argv[a];
    if (flag == "--index") {
      index = argv[a + 1];
    } else if (flag == "--metadata") {
      with_metadata = std::strcmp(argv[a + 1], "0") != 0;
    } else if (flag == "--warm") {
      warm = parse_size(argv[a + 1]);
    } else if (flag == "--rows") {
      rows = parse_size(argv[a + 1]);
    } else if (flag == "--replace") {
      replace = std::strcmp(argv[a + 1], "0") != 0;
    } else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  if (index != "flat" && index != "hnsw") {
    std::fprintf(stderr, "--index must be flat or hnsw\n");
    return 2;
  }
  if (replace && rows > warm) {
    std::fprintf(stderr, "--replace needs --rows <= --warm\n");
    return 2;
  }
  Config config(kDim, Metric::kL2);
  if (index == "hnsw") config.index(HnswConfig{});
  auto db = Database::open_in_memory(config);
  if (!db.ok()) {
    std::fprintf(stderr, "open: %s\n", db.status().to_string().c_str());
    return 1;
  }
  const Batch warm_rows = make_batch(0, 0, warm, with_metadata);
  const Batch measured = make_batch(replace ? 0 : warm, warm, rows, with_metadata);
  if (upsert_all(*db, warm_rows) != 0) return 1;
  if (measured_upserts(*db, measured) != 0) return 1;
  std::printf("%s metadata=%d replace=%d warm=%zu rows=%zu size=%zu\n", index.c_str(),
              int(with_metadata), int(replace), warm, rows, db->size());
  return 0;
}
