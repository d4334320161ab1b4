// bench_hnsw: iqdb's HNSW against hnswlib on Fashion-MNIST (60,000 x 784,
// L2), both built in this process with the same M and ef_construction.
//
// For each M it builds both indices with the same number of threads
// (exec::concurrency(), i.e. the TBB pool iqdb uses), then sweeps ef and
// reports per point recall@10 against exact ground truth and single-thread
// queries per second (median of --reps runs over all queries), plus build
// time and bytes per vector. It ends with the ratios the HNSW issue is
// judged by: QPS iqdb/hnswlib at recall 0.95 and 0.99 (each curve linearly
// interpolated in recall), build time iqdb/hnswlib and memory.
//
//   bench_hnsw [--queries N] [--base N] [--reps N] [--m 16,32] [--ef 10,20,...]
//              [--no-sq8] [--with-f32] [--no-u8] [--rerank N] [--no-hnswlib] [--csv FILE]
//
// Contenders: "iqdb" is the default f32 store with the index's own SQ8 walk
// (--no-sq8: walk on the f32 rows instead; --with-f32: both); "iqdb-u8" is
// a store configured with VectorStorage::u8() (Fashion-MNIST's pixels are
// whole numbers 0..255, so it is exact), walked on the store's own bytes
// (--no-u8 leaves it out); "hnswlib" the peer. --rerank N: rerank only the N
// best of the beam; --no-hnswlib: iqdb curves only.
//
// This file is compiled with -march=native so that hnswlib gets its widest
// compile-time SIMD (its kernels are chosen by macros); iqdb's kernels are
// dispatched at run time either way.

#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "dataset/idx.h"
#include "exec/parallel.h"
#include "index/flat.h"
#include "index/hnsw.h"
#include "index/scorer.h"
#include "index/vector_store.h"
#include "kernels/distance.h"
#include "kernels/sq8.h"

namespace {

using iqdb::index::HnswIndex;
using iqdb::index::QueryScorer;
using iqdb::index::VectorStore;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::vector<size_t> parse_list(const char* s) {
  std::vector<size_t> out;
  for (const char* p = s; *p;) {
    out.push_back(std::strtoull(p, const_cast<char**>(&p), 10));
    if (*p == ',') ++p;
  }
  return out;
}

struct Args {
  size_t queries = 10'000;
  size_t base = 60'000;
  size_t reps = 3;
  std::vector<size_t> ms = {16, 32};
  std::vector<size_t> efs = {10, 12, 16, 20, 24, 32, 48, 64, 96, 128, 256, 512};
  bool sq8 = true;
  size_t rerank = 0;
  bool peer = true;
  bool with_f32 = false;
  bool with_u8 = true;
  std::string csv;
};

struct Point {
  size_t ef;
  double recall;
  double qps;
};

struct Curve {
  std::string name;
  size_t m;
  double build_seconds;
  double graph_bytes_per_vector;  // the index's own structures
  double total_bytes_per_vector;  // vectors + index
  std::vector<Point> points;
};

// Exact neighbours: the k-th smallest squared distance per query (in double).
struct Truth {
  size_t k;
  std::vector<double> kth;
};

double squared_l2(const float* a, const float* b, size_t dim) {
  double s = 0;
  for (size_t i = 0; i < dim; ++i) {
    const double d = double(a[i]) - double(b[i]);
    s += d * d;
  }
  return s;
}

Truth ground_truth(const VectorStore& store, const std::vector<float>& queries, size_t nq,
                   size_t k) {
  Truth t{k, std::vector<double>(nq)};
  const size_t dim = store.dim();
  iqdb::exec::parallel_for(0, nq, 16, [&](size_t begin, size_t end) {
    for (size_t q = begin; q < end; ++q) {
      const float* qv = queries.data() + q * dim;
      QueryScorer scorer(store, qv);
      auto top = iqdb::index::flat_search(scorer, k, nullptr);
      double kth = 0;
      for (const auto& c : top) kth = std::max(kth, squared_l2(qv, store.row(c.slot), dim));
      t.kth[q] = kth;
    }
  });
  return t;
}

// Hits whose true distance is within the k-th true distance (ties count).
size_t hits(const VectorStore& store, const float* q, const uint32_t* ids, size_t n, double kth) {
  size_t h = 0;
  for (size_t i = 0; i < n; ++i) {
    h += squared_l2(q, store.row(ids[i]), store.dim()) <= kth * (1 + 1e-9) + 1e-9;
  }
  return h;
}

// A contender: an index built once, then searched through `search`.
struct Contender {
  Curve curve;
  std::function<void(const float*, size_t, size_t, std::vector<uint32_t>&)> search;
};

// For each ef: one untimed pass per contender for recall, then `reps` timed
// passes. Within a pass the contenders take turns every 100 queries, so a
// drift of the machine's speed (a shared VM) hits all of them alike; each
// turn starts with caches warm for the other contender, which can only
// penalise the index with the smaller working set (iqdb). QPS is the median
// of the passes.
void sweep(const Args& args, const VectorStore& store, const std::vector<float>& queries, size_t nq,
           const Truth& truth, std::vector<Contender>& contenders) {
  std::vector<uint32_t> ids;
  const size_t dim = store.dim();
  for (size_t ef : args.efs) {
    std::vector<size_t> total_hits(contenders.size(), 0);
    std::vector<std::vector<double>> qps(contenders.size());
    for (size_t c = 0; c < contenders.size(); ++c) {
      for (size_t q = 0; q < nq; ++q) {
        contenders[c].search(queries.data() + q * dim, truth.k, ef, ids);
        total_hits[c] +=
            hits(store, queries.data() + q * dim, ids.data(), ids.size(), truth.kth[q]);
      }
    }
    constexpr size_t kChunk = 100;  // queries per turn
    for (size_t rep = 0; rep < args.reps; ++rep) {
      std::vector<double> elapsed(contenders.size(), 0.0);
      for (size_t first = 0; first < nq; first += kChunk) {
        const size_t last = std::min(nq, first + kChunk);
        for (size_t c = 0; c < contenders.size(); ++c) {
          const auto t0 = Clock::now();
          for (size_t q = first; q < last; ++q) {
            contenders[c].search(queries.data() + q * dim, truth.k, ef, ids);
          }
          elapsed[c] += seconds_since(t0);
        }
      }
      for (size_t c = 0; c < contenders.size(); ++c) qps[c].push_back(double(nq) / elapsed[c]);
    }
    std::printf("    ef %4zu", ef);
    for (size_t c = 0; c < contenders.size(); ++c) {
      std::sort(qps[c].begin(), qps[c].end());
      const Point p{ef, double(total_hits[c]) / double(nq * truth.k), qps[c][qps[c].size() / 2]};
      contenders[c].curve.points.push_back(p);
      std::printf("  | %-8s recall %.4f QPS %8.1f", contenders[c].curve.name.c_str(), p.recall,
                  p.qps);
    }
    std::printf("\n");
    std::fflush(stdout);
  }
}

// QPS at `recall`, linearly interpolated between the two points around it
// (points in order of ef). NaN when the curve never reaches it; the first
// point's QPS when even the smallest ef is above it.
double qps_at(const std::vector<Point>& points, double recall) {
  for (size_t i = 0; i < points.size(); ++i) {
    if (points[i].recall < recall) continue;
    if (i == 0) return points[0].qps;
    const Point& a = points[i - 1];
    const Point& b = points[i];
    const double t = (recall - a.recall) / (b.recall - a.recall);
    return a.qps + t * (b.qps - a.qps);
  }
  return std::nan("");
}

// ---- hnswlib

size_t hnswlib_graph_bytes(const hnswlib::HierarchicalNSW<float>& h, size_t n, size_t dim) {
  size_t upper = 0;
  for (size_t i = 0; i < n; ++i) upper += size_t(h.element_levels_[i]) * h.size_links_per_element_;
  // level 0 (links + vector + label), upper lists, per-element pointer,
  // level and lock; the id map is left out (iqdb's is left out too).
  const size_t per_element = h.size_data_per_element_ - dim * sizeof(float) + sizeof(void*) +
                             sizeof(int) + sizeof(std::mutex);
  return n * per_element + upper;
}

struct HnswlibIndex {
  std::unique_ptr<hnswlib::L2Space> space;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> index;
};

Contender build_hnswlib(HnswlibIndex& h, const std::vector<float>& base, size_t n, size_t dim,
                        size_t m, size_t threads) {
  h.space = std::make_unique<hnswlib::L2Space>(dim);
  h.index = std::make_unique<hnswlib::HierarchicalNSW<float>>(h.space.get(), n, m, 200, 100);
  hnswlib::HierarchicalNSW<float>* index = h.index.get();
  const auto t0 = Clock::now();
  index->addPoint(base.data(), 0);  // the first point alone, as hnswlib's own examples do
  std::atomic<size_t> next{1};
  std::vector<std::thread> pool;
  for (size_t t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (size_t i; (i = next.fetch_add(1)) < n;) index->addPoint(base.data() + i * dim, i);
    });
  }
  for (auto& th : pool) th.join();
  Contender c{Curve{"hnswlib", m, seconds_since(t0), 0, 0, {}}, {}};
  c.curve.graph_bytes_per_vector = double(hnswlib_graph_bytes(*index, n, dim)) / double(n);
  c.curve.total_bytes_per_vector = c.curve.graph_bytes_per_vector + double(dim * sizeof(float));
  std::printf("  hnswlib  M=%zu: build %6.2f s (%zu threads), %5.0f bytes/vector (%4.0f graph)\n",
              m, c.curve.build_seconds, threads, c.curve.total_bytes_per_vector,
              c.curve.graph_bytes_per_vector);
  c.search = [index](const float* q, size_t k, size_t ef, std::vector<uint32_t>& ids) {
    index->setEf(ef);
    auto result = index->searchKnn(q, k);
    ids.clear();
    while (!result.empty()) {
      ids.push_back(static_cast<uint32_t>(result.top().second));
      result.pop();
    }
  };
  return c;
}

Contender build_iqdb(std::unique_ptr<HnswIndex>& index, const Args& args, const VectorStore& store,
                     const std::vector<uint32_t>& slots, size_t m, bool sq8, const char* name) {
  HnswIndex::Options options;
  options.sq8 = sq8;
  options.rerank = args.rerank;
  index = std::make_unique<HnswIndex>(store, iqdb::HnswConfig{}.with_m(m).with_ef_construction(200),
                                      options);
  const auto t0 = Clock::now();
  iqdb::Status status = index->insert_batch(slots);
  Contender c{Curve{name, m, seconds_since(t0), 0, 0, {}}, {}};
  if (!status.ok()) {
    std::fprintf(stderr, "iqdb build failed: %s\n", status.to_string().c_str());
    std::exit(1);
  }
  const size_t n = slots.size();
  c.curve.graph_bytes_per_vector = double(index->memory_bytes()) / double(n);
  c.curve.total_bytes_per_vector =
      c.curve.graph_bytes_per_vector + double(store.vector_bytes_per_slot());
  std::printf("  %-8s M=%zu: build %6.2f s (%zu threads), %5.0f bytes/vector (%4.0f index)\n",
              c.curve.name.c_str(), m, c.curve.build_seconds, iqdb::exec::concurrency(),
              c.curve.total_bytes_per_vector, c.curve.graph_bytes_per_vector);
  HnswIndex* idx = index.get();
  c.search = [idx, &store](const float* q, size_t k, size_t ef, std::vector<uint32_t>& ids) {
    QueryScorer scorer(store, q);
    auto result = idx->search(scorer, k, ef, nullptr);
    ids.clear();
    for (const auto& r : result) ids.push_back(r.slot);
  };
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--queries")
      args.queries = std::strtoull(next(), nullptr, 10);
    else if (a == "--base")
      args.base = std::strtoull(next(), nullptr, 10);
    else if (a == "--reps")
      args.reps = std::max<size_t>(1, std::strtoull(next(), nullptr, 10));
    else if (a == "--m")
      args.ms = parse_list(next());
    else if (a == "--ef")
      args.efs = parse_list(next());
    else if (a == "--no-sq8")
      args.sq8 = false;
    else if (a == "--rerank")
      args.rerank = std::strtoull(next(), nullptr, 10);
    else if (a == "--no-hnswlib")
      args.peer = false;
    else if (a == "--with-f32")
      args.with_f32 = true;
    else if (a == "--no-u8")
      args.with_u8 = false;
    else if (a == "--csv")
      args.csv = next();
    else {
      std::fprintf(stderr,
                   "usage: bench_hnsw [--queries N] [--base N] [--reps N] [--m 16,32] "
                   "[--ef 10,20,...] [--no-sq8] [--with-f32] [--no-u8] [--rerank N] [--no-hnswlib] "
                   "[--csv FILE]\n");
      return 2;
    }
  }
  auto data = iqdb::dataset::load_fashion_mnist();
  if (!data.ok()) {
    std::fprintf(stderr, "cannot load Fashion-MNIST: %s\n", data.status().to_string().c_str());
    return 1;
  }
  const size_t dim = data->dim;
  const size_t n = std::min(args.base, data->train_rows());
  const size_t nq = std::min(args.queries, data->test_rows());
  const size_t threads = iqdb::exec::concurrency();
  std::printf("Fashion-MNIST: %zu base x %zu, %zu queries, k = 10, L2; %zu build threads\n", n, dim,
              nq, threads);
  std::printf("kernels: f32 %s, sq8 %s; QPS single-thread, median of %zu reps\n",
              iqdb::kernels::active_kernels().target, iqdb::kernels::active_sq8_kernels().target,
              args.reps);

  VectorStore store(dim, iqdb::Metric::kL2);
  std::vector<uint32_t> slots(n);
  for (size_t i = 0; i < n; ++i) {
    auto r =
        store.upsert(iqdb::VectorId(uint64_t{i}), {data->train.data() + i * dim, dim}, nullptr);
    if (!r.ok()) return 1;
    slots[i] = r->slot;
  }
  VectorStore u8_store(dim, iqdb::Metric::kL2, iqdb::VectorStorage::u8());
  if (args.with_u8) {
    for (size_t i = 0; i < n; ++i) {
      auto r = u8_store.upsert(iqdb::VectorId(uint64_t{i}), {data->train.data() + i * dim, dim},
                               nullptr);
      if (!r.ok() || r->slot != slots[i]) return 1;
    }
  }
  auto t0 = Clock::now();
  const Truth truth = ground_truth(store, data->test, nq, 10);
  std::printf("ground truth: %.1f s\n", seconds_since(t0));

  std::vector<std::vector<Curve>> results;  // per M: iqdb [, iqdb-f32], hnswlib
  for (size_t m : args.ms) {
    std::printf("M = %zu, ef_construction = 200\n", m);
    std::unique_ptr<HnswIndex> ours, ours_f32, ours_u8;
    HnswlibIndex peer;
    std::vector<Contender> contenders;
    contenders.push_back(
        build_iqdb(ours, args, store, slots, m, args.sq8, args.sq8 ? "iqdb" : "iqdb-f32"));
    if (args.with_f32 && args.sq8) {
      contenders.push_back(build_iqdb(ours_f32, args, store, slots, m, false, "iqdb-f32"));
    }
    if (args.with_u8)
      contenders.push_back(build_iqdb(ours_u8, args, u8_store, slots, m, true, "iqdb-u8"));
    if (args.peer) contenders.push_back(build_hnswlib(peer, data->train, n, dim, m, threads));
    sweep(args, store, data->test, nq, truth, contenders);
    results.emplace_back();
    for (auto& c : contenders) results.back().push_back(std::move(c.curve));
  }

  std::printf("\n%-10s %3s %4s %9s %10s\n", "index", "M", "ef", "recall@10", "QPS");
  for (const auto& curves : results) {
    for (const Curve& c : curves) {
      for (const Point& p : c.points) {
        std::printf("%-10s %3zu %4zu %9.4f %10.1f\n", c.name.c_str(), c.m, p.ef, p.recall, p.qps);
      }
    }
  }
  if (args.peer) {
    std::printf("\nsummary (ratios against hnswlib at the same M)\n");
    for (const auto& curves : results) {
      const Curve& peer = curves.back();
      for (size_t i = 0; i + 1 < curves.size(); ++i) {
        const Curve& ours = curves[i];
        const char* name = ours.name.c_str();
        for (double target : {0.95, 0.99}) {
          const double a = qps_at(ours.points, target), b = qps_at(peer.points, target);
          std::printf("  M=%-3zu %-8s QPS at recall %.2f: %9.1f vs %9.1f  ratio %.2fx\n", ours.m,
                      name, target, a, b, a / b);
        }
        std::printf("  M=%-3zu %-8s build time: %.2f s vs %.2f s  ratio %.2f\n", ours.m, name,
                    ours.build_seconds, peer.build_seconds,
                    ours.build_seconds / peer.build_seconds);
        std::printf("  M=%-3zu %-8s bytes/vector, vectors + index: %.0f vs %.0f  ratio %.2f\n",
                    ours.m, name, ours.total_bytes_per_vector, peer.total_bytes_per_vector,
                    ours.total_bytes_per_vector / peer.total_bytes_per_vector);
        std::printf("  M=%-3zu %-8s bytes/vector, index alone: %.0f vs %.0f (links, label, lock)\n",
                    ours.m, name, ours.graph_bytes_per_vector, peer.graph_bytes_per_vector);
      }
    }
  }
  if (!args.csv.empty()) {
    FILE* f = std::fopen(args.csv.c_str(), "w");
    if (f == nullptr) return 1;
    std::fprintf(f, "index,m,ef,recall,qps,build_seconds,bytes_per_vector\n");
    for (const auto& curves : results) {
      for (const Curve& c : curves) {
        for (const Point& p : c.points) {
          std::fprintf(f, "%s,%zu,%zu,%.5f,%.1f,%.3f,%.1f\n", c.name.c_str(), c.m, p.ef, p.recall,
                       p.qps, c.build_seconds, c.total_bytes_per_vector);
        }
      }
    }
    std::fclose(f);
  }
  return 0;
}
