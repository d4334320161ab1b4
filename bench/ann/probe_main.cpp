// iqdb-ann-probe: one search configuration, repeatable under a profiler.
// `build` writes a database file (HNSW M = 16, ef_construction 200, the
// bench's settings; or IVF-PQ 4-bit fast scan as iqdb-ann --scale builds
// it) with the queries and their exact neighbours beside it; `query`
// reopens it and runs the queries through Database::search at one ef (HNSW)
// or n_probes (IVF), so a profiler sees only searches, e.g.
//
//   iqdb-ann-probe build DIR rotated
//   valgrind --tool=callgrind --toggle-collect='iqdb::Database::search*'
//            iqdb-ann-probe query DIR 32 500        (one command line)
//
// `query` prints recall@10 and queries per second of thread CPU time
// (steadier than wall time on a shared machine).
//
// `--rows N` grows Fashion-MNIST to N images as iqdb-ann --scale does
// (grow.h), rotated alike for `rotated`, with ground truth over all N.
// `--index ivf` builds IVF-PQ 4-bit fast scan with `--lists L` (0: the
// default, about sqrt(rows)), `--pq-m M` sub-quantisers (0: dim / 2) and
// `--refine R` (default 4).
//
// With `--classes`, `build` also stores each row's Fashion-MNIST label as
// the metadata field "class" and the exact own-class neighbours of every
// query; `query ... own` then filters each query on its own class (10 % of
// the rows, walked), `query ... scan` does the same by exact scan.
// `load` opens the database with OpenOptions::load_into_memory (its
// sections copied into private memory, huge pages where the OS gives
// them) instead of mapping the file.
//
//   iqdb-ann-probe build DIR plain|rotated [--data DIR] [--queries N] [--classes]
//   iqdb-ann-probe query DIR EF_OR_PROBES [QUERIES] [PASSES] [own|scan] [load]
#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "ann/ann.h"
#include "ann/grow.h"
#include "ann/rotation.h"
#include "dataset/idx.h"
#include "iqdb/iqdb.hpp"

namespace iqdb::bench {
namespace {

int usage() {
  std::fprintf(
      stderr,
      "usage: iqdb-ann-probe build DIR plain|rotated [--data DIR] [--queries N] "
      "[--classes] [--rows N] [--index hnsw|ivf] [--lists L] [--pq-m M] [--refine R]\n"
      "       iqdb-ann-probe query DIR EF_OR_PROBES [QUERIES] [PASSES] [own|scan] [load]\n");
  return 2;
}

double thread_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

// The exact k nearest rows of `query` among the rows of class `label`.
std::vector<uint32_t> own_class_truth(const Dataset& ds, const float* query, uint8_t label) {
  std::vector<std::pair<float, uint32_t>> all;
  for (uint32_t i = 0; i < ds.base_rows; ++i) {
    if (ds.base_labels[i] != label) continue;
    const float* row = ds.base.data() + size_t(i) * ds.dim;
    float d = 0;
    for (size_t j = 0; j < ds.dim; ++j) d += (row[j] - query[j]) * (row[j] - query[j]);
    all.emplace_back(d, i);
  }
  const size_t k = std::min(kRecallK, all.size());
  std::partial_sort(all.begin(), all.begin() + ptrdiff_t(k), all.end());
  std::vector<uint32_t> out(kRecallK, UINT32_MAX);
  for (size_t i = 0; i < k; ++i) out[i] = all[i].second;
  return out;
}

// queries.bin: u64 rows, u64 dim, rows x dim f32, rows x kRecallK u32.
// classes.bin (with `classes`): rows u8 labels, rows x kRecallK u32 own-class
// neighbours.
struct BuildOptions {
  std::string data = iqdb::dataset::kFashionMnistDir;
  size_t queries = 2000;
  bool classes = false;
  size_t rows = 0;  // 0: the 60,000 training images as they are
  bool ivf = false;
  size_t lists = 0, pq_m = 0, refine = 4;
};

// Fashion-MNIST grown to `rows` images (grow.h), rotated for `rotated`,
// with exact ground truth over all of them.
Result<Dataset> grown_dataset(Dataset plain, size_t rows, bool rotated) {
  const size_t side = 28;
  if (plain.dim != side * side) return Status::InvalidArgument("expected 28 x 28 images");
  if (rows > plain.base_rows * (1 + kGrowTransforms)) {
    return Status::InvalidArgument("--rows: at most " +
                                   std::to_string(plain.base_rows * (1 + kGrowTransforms)));
  }
  const std::vector<uint8_t> grown =
      grow_images(plain.base, plain.base_rows, side, rows, kGrowSeed);
  plain.base.assign(grown.begin(), grown.end());
  plain.base_rows = rows;
  plain.base_labels.clear();
  if (rotated) {
    const Rotation rotation = Rotation::random(plain.dim, kRotationSeed);
    rotation.apply_in_place(plain.base.data(), rows, 2);
    rotation.apply_in_place(plain.queries.data(), plain.query_rows, 2);
  }
  IQDB_RETURN_IF_ERROR(compute_truth(plain));
  return plain;
}

int build(const std::filesystem::path& dir, bool rotated, const BuildOptions& opt) {
  const bool classes = opt.classes;
  auto plain = load_dataset(opt.data, opt.queries);
  if (!plain) {
    std::fprintf(stderr, "iqdb-ann-probe: %s\n", plain.status().to_string().c_str());
    return 1;
  }
  Result<Dataset> ds = opt.rows != 0 ? grown_dataset(std::move(*plain), opt.rows, rotated)
                       : rotated     ? rotated_dataset(*plain)
                                     : std::move(plain);
  if (!ds) {
    std::fprintf(stderr, "iqdb-ann-probe: %s\n", ds.status().to_string().c_str());
    return 1;
  }
  std::filesystem::create_directories(dir);
  Config config(ds->dim, Metric::kL2);
  if (opt.ivf) {
    config.index(IvfConfig{}
                     .with_n_clusters(opt.lists)
                     .with_pq(IvfConfig::Pq::k4BitFastScan)
                     .with_pq_subvectors(opt.pq_m)
                     .with_refine_factor(opt.refine));
  } else {
    config.index(HnswConfig{}.with_m(16).with_ef_construction(200));
  }
  config.fsync(FsyncPolicy::never()).write_threads(std::thread::hardware_concurrency());
  auto db = Database::open(dir / "db", config);
  std::vector<VectorId> ids;
  for (size_t i = 0; i < ds->base_rows; ++i) ids.emplace_back(i);
  std::vector<Metadata> metadata;
  std::vector<const Metadata*> metadata_ptrs;
  if (classes) {
    metadata.resize(ds->base_rows);
    for (size_t i = 0; i < ds->base_rows; ++i) {
      metadata[i] = Metadata{{"class", Value(int64_t{ds->base_labels[i]})}};
      metadata_ptrs.push_back(&metadata[i]);
    }
  }
  Status st = !db       ? db.status()
              : classes ? db->upsert_batch(ids, ds->base, metadata_ptrs)
                        : db->upsert_batch(ids, ds->base);
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
  if (!out) return 1;
  if (!classes) return 0;
  std::ofstream cls(dir / "classes.bin", std::ios::binary);
  cls.write(reinterpret_cast<const char*>(ds->query_labels.data()),
            std::streamsize(ds->query_rows));
  for (size_t q = 0; q < ds->query_rows; ++q) {
    const std::vector<uint32_t> t =
        own_class_truth(*ds, ds->queries.data() + q * ds->dim, ds->query_labels[q]);
    cls.write(reinterpret_cast<const char*>(t.data()),
              std::streamsize(t.size() * sizeof(uint32_t)));
  }
  return cls ? 0 : 1;
}

int query(const std::filesystem::path& dir, size_t ef, size_t limit, int passes,
          const std::string& filter, bool load) {
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
  std::vector<Filter> filters;
  if (!filter.empty()) {
    std::ifstream cls(dir / "classes.bin", std::ios::binary);
    std::vector<uint8_t> labels(rows);
    cls.read(reinterpret_cast<char*>(labels.data()), std::streamsize(rows));
    cls.read(reinterpret_cast<char*>(truth.data()),
             std::streamsize(truth.size() * sizeof(uint32_t)));
    if (!cls) {
      std::fprintf(stderr, "iqdb-ann-probe: cannot read %s (build with --classes)\n",
                   (dir / "classes.bin").c_str());
      return 1;
    }
    for (uint8_t label : labels) filters.push_back(Filter::eq("class", Value(int64_t{label})));
  }
  auto db = Database::open(dir / "db", OpenOptions{}.with_load_into_memory(load));
  if (!db) {
    std::fprintf(stderr, "iqdb-ann-probe: %s\n", db.status().to_string().c_str());
    return 1;
  }
  const size_t n = limit != 0 && limit < rows ? limit : rows;
  SearchParams params;
  params.k = kRecallK;
  params.ef = ef;
  params.n_probes = ef;  // the knob of whichever index the file holds
  params.exact = filter == "scan";
  size_t found = 0;
  const double start = thread_seconds();
  for (int pass = 0; pass < passes; ++pass) {
    for (size_t q = 0; q < n; ++q) {
      if (!filters.empty()) params.filter = &filters[q];
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
  if (!filter.empty()) std::printf("filter=%s ", filter.c_str());
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
    BuildOptions opt;
    for (int i = 4; i < argc; i += 2) {
      const std::string a = argv[i];
      if (a == "--classes") {
        opt.classes = true;
        --i;
      } else if (i + 1 >= argc) {
        return usage();
      } else if (a == "--data") {
        opt.data = argv[i + 1];
      } else if (a == "--queries") {
        opt.queries = std::strtoull(argv[i + 1], nullptr, 10);
      } else if (a == "--rows") {
        opt.rows = std::strtoull(argv[i + 1], nullptr, 10);
      } else if (a == "--index") {
        const std::string index = argv[i + 1];
        if (index != "hnsw" && index != "ivf") return usage();
        opt.ivf = index == "ivf";
      } else if (a == "--lists") {
        opt.lists = std::strtoull(argv[i + 1], nullptr, 10);
      } else if (a == "--pq-m") {
        opt.pq_m = std::strtoull(argv[i + 1], nullptr, 10);
      } else if (a == "--refine") {
        opt.refine = std::strtoull(argv[i + 1], nullptr, 10);
      } else {
        return usage();
      }
    }
    // Grown images carry no class: the own-class truth needs the originals.
    if (opt.classes && opt.rows != 0) return usage();
    return build(dir, which == "rotated", opt);
  }
  if (mode == "query") {
    const size_t ef = std::strtoull(argv[3], nullptr, 10);
    const size_t limit = argc > 4 ? std::strtoull(argv[4], nullptr, 10) : 0;
    const int passes = argc > 5 ? std::atoi(argv[5]) : 1;
    std::string filter;
    bool load = false;
    for (int i = 6; i < argc; ++i) {
      const std::string word = argv[i];
      if (word == "load") {
        load = true;
      } else if ((word == "own" || word == "scan") && filter.empty()) {
        filter = word;
      } else {
        return usage();
      }
    }
    if (ef == 0 || passes < 1) return usage();
    return query(dir, ef, limit, passes, filter, load);
  }
  return usage();
}
