// iqdb bench: recall@k and single-thread queries per second of a database
// on a query file, sweeping the index's search knob.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/ground_truth.h"
#include "cli/open_db.h"
#include "cli/output.h"
#include "cli/query_source.h"
#include "dataset/json.h"

namespace iqdb::cli {

const char* const kBenchHelp =
    "usage: iqdb bench PATH --queries FILE [--truth FILE.ivecs] [options]\n\n"
    "Measures recall@k against exact ground truth and queries per second (one\n"
    "thread, one query at a time) for each value of the index's search knob, plus\n"
    "the batch throughput on all cores. Without --truth the exact neighbours are\n"
    "computed by a flat scan of the database (after folding the log in), over the\n"
    "rows as stored (rounded ones for --storage f16/bf16/sq8 without --keep-f32).\n\n"
    "  --queries FILE   query vectors (any `iqdb import` format)\n"
    "  --truth FILE     ground-truth neighbour ids per query (.ivecs); ids must be\n"
    "                   the database's integer ids (row numbers for a plain import)\n"
    "  --format F       format of the query file when its name does not say\n"
    "  -k, --k K        neighbours per query (default 10)\n"
    "  --limit N        use the first N queries (default 1000)\n"
    "  --ef LIST        HNSW beam widths to sweep (default 10,16,32,64,128,256)\n"
    "  --probes LIST    IVF lists to sweep (default 1,2,4,8,16,32)\n"
    "  --filter EXPR    benchmark filtered search (truth is filtered too)\n"
    "  --json           one JSON object per sweep point\n\n"
    "example:\n"
    "  iqdb bench fm.iqdb --queries t10k-images-idx3-ubyte.gz --limit 1000 --ef 16,64,256\n";

namespace {

const OptionSpec kSpecs[] = {
    {"--queries", nullptr, true}, {"--truth", nullptr, true},  {"--format", nullptr, true},
    {"--k", "-k", true},          {"--limit", nullptr, true},  {"--ef", nullptr, true},
    {"--probes", nullptr, true},  {"--filter", nullptr, true}, {"--json", nullptr, false},
};

struct Point {
  std::string knob;  // "ef=64", "probes=8", "exact"
  double recall = 0;
  double qps = 0;
  double p50_ms = 0;
  double p99_ms = 0;
};

double recall_of(const std::vector<std::vector<Hit>>& found, const Truth& truth, size_t k) {
  size_t agree = 0, want = 0;
  for (size_t q = 0; q < truth.size(); ++q) {
    std::unordered_set<VectorId> expected(
        truth[q].begin(), truth[q].begin() + ptrdiff_t(std::min(k, truth[q].size())));
    want += expected.size();
    for (const Hit& h : found[q]) agree += expected.count(h.id);
  }
  return want ? double(agree) / double(want) : 1.0;
}

Point measure(const Database& db, std::span<const float> queries, size_t dim, const Truth& truth,
              SearchParams params, std::string knob) {
  const size_t nq = queries.size() / dim;
  std::vector<std::vector<Hit>> found(nq);
  std::vector<double> ms(nq);
  const auto start = std::chrono::steady_clock::now();
  for (size_t q = 0; q < nq; ++q) {
    const auto t = std::chrono::steady_clock::now();
    found[q] = take(db.search(queries.subspan(q * dim, dim), params), "search");
    ms[q] = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::sort(ms.begin(), ms.end());
  Point p;
  p.knob = std::move(knob);
  p.recall = recall_of(found, truth, params.k);
  p.qps = double(nq) / secs;
  p.p50_ms = ms[nq / 2];
  p.p99_ms = ms[std::min(nq - 1, nq * 99 / 100)];
  return p;
}

}  // namespace

int run_bench(std::span<char* const> argv) {
  Args args("bench", argv, kSpecs);
  args.expect_positional(1, 1, "PATH");
  const std::filesystem::path path = args.positional()[0];
  if (!args.has("--queries")) usage_error("--queries FILE is required");
  const size_t k = args.get_u64("--k", 10, 1, 10'000);
  const uint64_t limit = args.get_u64("--limit", 1000, 1);
  std::optional<Filter> filter;
  if (auto f = args.get("--filter")) filter = parse_filter_arg(*f);
  const bool json = args.has("--json");
  const DatabaseInfo shape = read_shape(path);
  if (args.has("--ef") && !shape.index.is_hnsw()) usage_error("--ef applies to an HNSW index");
  if (args.has("--probes") && !shape.index.is_ivf())
    usage_error("--probes applies to an IVF index");
  const std::vector<float> queries =
      read_query_rows(*args.get("--queries"), args.get("--format"), limit, shape.dim);
  const size_t nq = queries.size() / shape.dim;

  Database db = open_existing(path, OpenArgs{.read_only = true});
  if (!json) {
    std::printf("%s: %zu records, dim %zu, %s, index %s; %zu queries, k=%zu%s\n",
                path.string().c_str(), db.size(), shape.dim,
                std::string(metric_name(shape.metric)).c_str(),
                describe_index(db.index_kind()).c_str(), nq, k, filter ? ", filtered" : "");
  }
  const auto truth_start = std::chrono::steady_clock::now();
  Truth truth;
  if (auto t = args.get("--truth")) {
    if (filter) usage_error("--truth and --filter do not mix (the file's truth is unfiltered)");
    truth = read_truth(*t, nq, k);
  } else {
    truth = exact_truth(db, queries, k, filter ? &*filter : nullptr);
    if (!json) {
      std::printf(
          "exact ground truth by flat scan in %.2f s\n",
          std::chrono::duration<double>(std::chrono::steady_clock::now() - truth_start).count());
      const VectorStorage storage = db.storage();
      if (storage.lossy() && !storage.keep_f32) {
        std::printf(
            "note: the rows are stored as %s without f32, so this truth ranks the rounded\n"
            "      rows; for recall against the original vectors pass --truth FILE\n",
            storage_type_name(storage.type));
      }
    }
  }

  SearchParams params;
  params.k = k;
  params.filter = filter ? &*filter : nullptr;
  std::vector<Point> points;
  const IndexKind kind = db.index_kind();
  if (kind.is_hnsw()) {
    for (uint64_t ef : parse_u64_list(args.get_or("--ef", "10,16,32,64,128,256"), "--ef")) {
      params.ef = size_t(ef);
      points.push_back(measure(db, queries, shape.dim, truth, params, "ef=" + std::to_string(ef)));
    }
    params.ef = 0;
  } else if (kind.is_ivf()) {
    for (uint64_t p : parse_u64_list(args.get_or("--probes", "1,2,4,8,16,32"), "--probes")) {
      params.n_probes = size_t(p);
      points.push_back(
          measure(db, queries, shape.dim, truth, params, "probes=" + std::to_string(p)));
    }
    params.n_probes = 0;
  } else {
    points.push_back(measure(db, queries, shape.dim, truth, params, "exact"));
  }
  // Throughput with every core, at the index's default knob.
  const auto batch_start = std::chrono::steady_clock::now();
  (void)take(db.search_batch(queries, params), "search_batch");
  const double batch_qps =
      double(nq) /
      std::chrono::duration<double>(std::chrono::steady_clock::now() - batch_start).count();

  if (json) {
    for (const Point& p : points) {
      std::printf(
          "{\"index\":%s,\"knob\":%s,\"k\":%zu,\"queries\":%zu,\"recall\":%s,\"qps\":%s,\"p50_ms\":"
          "%s,"
          "\"p99_ms\":%s}\n",
          dataset::json_quote(kind.name()).c_str(), dataset::json_quote(p.knob).c_str(), k, nq,
          dataset::json_number(p.recall).c_str(), dataset::json_number(p.qps).c_str(),
          dataset::json_number(p.p50_ms).c_str(), dataset::json_number(p.p99_ms).c_str());
    }
    std::printf("{\"index\":%s,\"knob\":\"default\",\"batch_qps\":%s}\n",
                dataset::json_quote(kind.name()).c_str(), dataset::json_number(batch_qps).c_str());
  } else {
    const std::string recall_label = "recall@" + std::to_string(k);
    std::printf("\n%-12s %10s %12s %10s %10s\n", "knob", recall_label.c_str(), "QPS (1 thr)",
                "p50 ms", "p99 ms");
    for (const Point& p : points) {
      std::printf("%-12s %10.4f %12.0f %10.3f %10.3f\n", p.knob.c_str(), p.recall, p.qps, p.p50_ms,
                  p.p99_ms);
    }
    std::printf("\nsearch_batch on %u threads at the default knob: %.0f QPS\n",
                std::thread::hardware_concurrency(), batch_qps);
  }
  check(db.close(), "close", Exit::kError);
  return 0;
}

}  // namespace iqdb::cli
