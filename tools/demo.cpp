// iqdb-demo: the main job end to end on Fashion-MNIST.
//
// Loads the 60,000 training images into a database with each image's class
// name as metadata (or, with --db, reopens a file-backed database that
// `iqdb import` filled), runs test images as queries, reports recall@10
// against exact search and queries per second, then shows the neighbours of
// a few test images and a filtered search. tools/demo runs it after
// building the database with the `iqdb` tool.
//
//   iqdb-demo [--db PATH] [--index flat|hnsw] [--queries N] [--data DIR]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unistd.h>
#include <unordered_set>
#include <vector>

#include "dataset/idx.h"
#include "iqdb/iqdb.hpp"

using namespace iqdb;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

[[noreturn]] void die(const std::string& what, const Status& s) {
  std::fprintf(stderr, "iqdb-demo: %s: %s\n", what.c_str(), s.to_string().c_str());
  std::exit(1);
}

struct Options {
  std::string index = "hnsw";
  size_t queries = 1000;
  std::string data = dataset::kFashionMnistDir;
  std::string db;  // reopen this database instead of building one in memory
};

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "iqdb-demo: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--index") {
      o.index = next();
    } else if (a == "--queries") {
      o.queries = std::strtoull(next().c_str(), nullptr, 10);
    } else if (a == "--data") {
      o.data = next();
    } else if (a == "--db") {
      o.db = next();
    } else if (a == "--help" || a == "-h") {
      std::printf("usage: iqdb-demo [--db PATH] [--index flat|hnsw] [--queries N] [--data DIR]\n");
      std::exit(0);
    } else {
      std::fprintf(stderr, "iqdb-demo: unknown option %s (try --help)\n", a.c_str());
      std::exit(2);
    }
  }
  if (o.index != "flat" && o.index != "hnsw") {
    std::fprintf(stderr, "iqdb-demo: --index must be flat or hnsw\n");
    std::exit(2);
  }
  return o;
}

// A progress line redrawn in place on a terminal; plain lines every 25%
// otherwise, so logs stay readable.
void progress(const char* what, size_t done, size_t total, Clock::time_point start) {
  static const bool kTerminal = isatty(fileno(stderr)) != 0;
  double s = seconds_since(start);
  double rate = s > 0 ? double(done) / s : 0;
  double eta = rate > 0 ? double(total - done) / rate : 0;
  if (kTerminal) {
    int width = 30, filled = int(width * double(done) / double(total));
    std::fprintf(stderr, "\r  %-5s [%.*s%*s] %zu/%zu %.0f rows/s ETA %.0fs ", what, filled,
                 "==============================", width - filled, "", done, total, rate, eta);
    if (done == total) std::fprintf(stderr, "\n");
  } else if (done == total ||
             (done * 4 / total) != ((done - std::min(done, size_t{2000})) * 4 / total)) {
    std::fprintf(stderr, "  %s %zu/%zu rows (%.0f rows/s)\n", what, done, total, rate);
  }
  std::fflush(stderr);
}

// Upserts rows in batches so progress is visible while the index builds.
Database load(const dataset::FashionMnist& data, const IndexKind& kind) {
  auto db = Database::open_in_memory(Config(data.dim, Metric::kL2).index(kind));
  if (!db) die("open", db.status());
  const auto& classes = dataset::fashion_mnist_classes();
  const size_t n = data.train_rows();
  const size_t batch = 2000;
  auto start = Clock::now();
  std::vector<Metadata> metas;
  for (size_t first = 0; first < n; first += batch) {
    size_t count = std::min(batch, n - first);
    std::vector<VectorId> ids;
    metas.assign(count, Metadata{});
    std::vector<const Metadata*> meta_ptrs;
    for (size_t i = 0; i < count; ++i) {
      ids.emplace_back(first + i);
      metas[i].set("class", classes[data.train_labels[first + i]]);
      metas[i].set("label", int64_t{data.train_labels[first + i]});
      meta_ptrs.push_back(&metas[i]);
    }
    Status s = db->upsert_batch(
        ids, std::span(data.train).subspan(first * data.dim, count * data.dim), meta_ptrs);
    if (!s.ok()) die("upsert_batch", s);
    progress(kind.name(), first + count, n, start);
  }
  std::printf("  loaded %zu images into a %s index in %.2f s\n", db->size(), kind.name(),
              seconds_since(start));
  return std::move(*db);
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // keep lines in order with progress on stderr in logs
  Options opt = parse_args(argc, argv);
  std::printf("iqdb %s, SIMD target %s\n", version(), simd_target().c_str());
  std::printf("Loading Fashion-MNIST from %s ...\n", opt.data.c_str());
  auto data = dataset::load_fashion_mnist(opt.data);
  if (!data) die("loading Fashion-MNIST", data.status());
  std::printf("  %zu training and %zu test images of %zu pixels\n", data->train_rows(),
              data->test_rows(), data->dim);
  const size_t nq = std::min(opt.queries, data->test_rows());
  std::span<const float> queries(data->test.data(), nq * data->dim);
  const size_t k = 10;

  // Exact answers first: the flat index is the ground truth.
  std::printf("Exact search (flat index) for %zu test images:\n", nq);
  Database exact = load(*data, FlatConfig{});
  auto t = Clock::now();
  auto truth = exact.search_batch(queries, k);
  if (!truth) die("search_batch", truth.status());
  double exact_s = seconds_since(t);
  std::printf("  %zu queries in %.2f s on all cores (%.0f QPS)\n", nq, exact_s,
              double(nq) / exact_s);

  Database db = std::move(exact);
  if (!opt.db.empty()) {
    // The file-backed database `iqdb import` built: reopening maps its
    // snapshot in place instead of rebuilding the index.
    t = Clock::now();
    auto opened = Database::open(opt.db, Config(data->dim, Metric::kL2));
    if (!opened) die("reopening " + opt.db, opened.status());
    db = std::move(*opened);
    std::printf("Reopened %s: %zu records, %s index, in %.1f ms\n", opt.db.c_str(), db.size(),
                db.index_kind().name(), 1e3 * seconds_since(t));
    if (db.size() != data->train_rows()) {
      std::printf(
          "  (the database holds %zu records; recall below is against all %zu training images)\n",
          db.size(), data->train_rows());
    }
  } else if (opt.index == "hnsw") {
    std::printf("Approximate search (HNSW, m=16, ef_construction=200):\n");
    db = load(*data, HnswConfig{});
  }
  // Single-thread latency: one query at a time, as a service would ask.
  std::vector<std::vector<Hit>> found;
  t = Clock::now();
  for (size_t q = 0; q < nq; ++q) {
    auto hits = db.search(queries.subspan(q * data->dim, data->dim), k);
    if (!hits) die("search", hits.status());
    found.push_back(std::move(*hits));
  }
  double s = seconds_since(t);
  size_t agree = 0;
  for (size_t q = 0; q < nq; ++q) {
    std::unordered_set<uint64_t> want;
    for (const Hit& h : (*truth)[q]) want.insert(h.id.as_u64());
    for (const Hit& h : found[q]) agree += want.count(h.id.as_u64());
  }
  std::printf("  recall@10 %.4f, %.0f QPS on one thread (%.3f ms per query)\n",
              double(agree) / double(nq * k), double(nq) / s, 1e3 * s / double(nq));

  const auto& classes = dataset::fashion_mnist_classes();
  std::printf(
      "Neighbours of a few test images (class of the query -> classes of its 5 nearest):\n");
  for (size_t q : {0u, 1u, 2u, 3u, 4u}) {
    SearchParams p;
    p.k = 5;
    p.with_metadata = true;
    auto hits = db.search(queries.subspan(q * data->dim, data->dim), p);
    if (!hits) die("search", hits.status());
    std::printf("  test #%zu %-12s ->", q, classes[data->test_labels[q]].c_str());
    for (const Hit& h : *hits) std::printf(" %s", h.metadata->get("class")->as_string().c_str());
    std::printf("\n");
  }
  auto sneakers = Filter::parse("class = \"Sneaker\"");
  if (!sneakers) die("filter", sneakers.status());
  std::printf("Filtered search: the 5 nearest Sneakers to test #0 (class %s):\n",
              classes[data->test_labels[0]].c_str());
  SearchParams p;
  p.k = 5;
  p.filter = &*sneakers;
  p.with_metadata = true;
  auto hits = db.search(queries.subspan(0, data->dim), p);
  if (!hits) die("filtered search", hits.status());
  for (const Hit& h : *hits) {
    std::printf("  id %-6s distance %8.1f  %s\n", h.id.to_string().c_str(), h.distance,
                h.metadata->get("class")->as_string().c_str());
  }
  Status closed = db.close();
  if (!closed.ok()) die("close", closed);
  return 0;
}
