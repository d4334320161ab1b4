// iqdb create: a new, empty database with a fixed shape and index.
#include <cstdio>
#include <system_error>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/open_db.h"

namespace iqdb::cli {

const char* const kCreateHelp =
    "usage: iqdb create PATH --dim N [--metric M] [--index flat|hnsw|ivf] [knobs]\n"
    "                   [--storage f32|f16|bf16|sq8|u8 [--keep-f32]]\n"
    "                   [--compression none|zstd[:LEVEL]|lz4]\n\n"
    "Creates an empty database at PATH (files PATH, PATH.wal, PATH.lock). Refuses\n"
    "to touch an existing one.\n\n"
    "  --dim N              vector dimension (1..65536), required\n"
    "  --metric M           l2 (default), cosine, dot, l1 or hamming\n"
    "  --index K            flat (exact, default), hnsw or ivf\n"
    "  --compression C      snapshot section compression (default none)\n"
    "  --storage T          how rows are kept (default f32; fixed at creation):\n"
    "                         f32   exact, 4 bytes a value\n"
    "                         f16   IEEE half, 2 bytes (|values| <= 65504)\n"
    "                         bf16  bfloat16, 2 bytes, f32's range\n"
    "                         sq8   8-bit scalar quantisation per dimension, 1 byte,\n"
    "                               trained on the first 1024 rows\n"
    "                         u8    exact whole numbers 0..255 (images), 1 byte;\n"
    "                               any other value is refused\n"
    "  --keep-f32           with f16, bf16 or sq8: keep the f32 rows too, so\n"
    "                       results are reranked exactly and get returns the\n"
    "                       floats written (4 more bytes a value)\n\n"
    "hnsw knobs:\n"
    "  --m N                links per node (default 16; 2m on level 0)\n"
    "  --ef-construction N  beam width while inserting (default 200)\n"
    "  --ef-search N        default beam width while searching (default 64)\n"
    "  --seed N             level generator seed (default 24301)\n"
    "  --f32-walk           with f32 rows: walk the graph on the rows themselves\n"
    "                       instead of an 8-bit copy (1 byte a value less memory,\n"
    "                       about a third of the queries per second)\n\n"
    "ivf knobs:\n"
    "  --clusters N         inverted lists (default about sqrt(rows))\n"
    "  --probes N           lists scanned per query (default 8)\n"
    "  --pq none|8|4        product quantisation: none, 8-bit, 4-bit fast scan\n"
    "  --pq-subvectors N    PQ subvectors (default dim/4 for 8-bit, dim/2 for 4-bit)\n"
    "  --refine N           rerank N*k candidates exactly (default 4)\n"
    "  --train-size N       rows sampled to train (default 256 per cluster)\n"
    "  --seed N             k-means seed\n\n"
    "example:\n"
    "  iqdb create fm.iqdb --dim 784 --metric l2 --index hnsw --m 16 --ef-construction 200\n";

namespace {

const OptionSpec kSpecs[] = {
    {"--dim", nullptr, true},
    {"--metric", nullptr, true},
    {"--index", nullptr, true},
    {"--compression", nullptr, true},
    {"--m", nullptr, true},
    {"--ef-construction", nullptr, true},
    {"--ef-search", nullptr, true},
    {"--f32-walk", nullptr, false},
    {"--seed", nullptr, true},
    {"--clusters", nullptr, true},
    {"--probes", nullptr, true},
    {"--pq", nullptr, true},
    {"--pq-subvectors", nullptr, true},
    {"--refine", nullptr, true},
    {"--train-size", nullptr, true},
    {"--storage", nullptr, true},
    {"--keep-f32", nullptr, false},
};

VectorStorage storage_from_args(const Args& args) {
  VectorStorage storage;
  if (auto t = args.get("--storage")) storage.type = parse_storage_arg(*t);
  if (args.has("--keep-f32")) {
    if (!storage.lossy()) {
      usage_error(std::string("--keep-f32 applies to --storage f16, bf16 or sq8 (") +
                  storage_type_name(storage.type) + " rows are exact already)");
    }
    storage.keep_f32 = true;
  }
  return storage;
}

void only_for(const Args& args, const char* kind, std::initializer_list<const char*> knobs) {
  for (const char* k : knobs) {
    if (args.has(k)) usage_error(std::string(k) + " applies to --index " + kind);
  }
}

IndexKind index_from_args(const Args& args) {
  const std::string kind = args.get_or("--index", "flat");
  const auto hnsw_knobs = {"--m", "--ef-construction", "--ef-search", "--f32-walk"};
  const auto ivf_knobs = {"--clusters",      "--probes", "--pq",
                          "--pq-subvectors", "--refine", "--train-size"};
  if (kind == "flat") {
    only_for(args, "hnsw", hnsw_knobs);
    only_for(args, "ivf", ivf_knobs);
    if (args.has("--seed")) usage_error("--seed applies to --index hnsw or ivf");
    return FlatConfig{};
  }
  if (kind == "hnsw") {
    only_for(args, "ivf", ivf_knobs);
    HnswConfig h;
    h.m = args.get_u64("--m", h.m, 2, 256);
    h.ef_construction = args.get_u64("--ef-construction", h.ef_construction, 1, 1'000'000);
    h.ef_search = args.get_u64("--ef-search", h.ef_search, 1, 1'000'000);
    h.seed = args.get_u64("--seed", h.seed);
    h.quantized_walk = !args.has("--f32-walk");
    return h;
  }
  if (kind == "ivf") {
    only_for(args, "hnsw", hnsw_knobs);
    IvfConfig v;
    v.n_clusters = args.get_u64("--clusters", v.n_clusters, 1, 1u << 24);
    v.n_probes = args.get_u64("--probes", v.n_probes, 1, 1u << 24);
    v.pq_subvectors = args.get_u64("--pq-subvectors", v.pq_subvectors, 1, 65536);
    v.refine_factor = args.get_u64("--refine", v.refine_factor, 1, 1024);
    v.training_sample_size =
        args.get_u64("--train-size", v.training_sample_size, 1, uint64_t{1} << 32);
    v.seed = args.get_u64("--seed", v.seed);
    const std::string pq = args.get_or("--pq", "none");
    if (pq == "none")
      v.pq = IvfConfig::Pq::kNone;
    else if (pq == "8")
      v.pq = IvfConfig::Pq::k8Bit;
    else if (pq == "4")
      v.pq = IvfConfig::Pq::k4BitFastScan;
    else
      usage_error("--pq: '" + pq + "' is not none, 8 or 4");
    if (args.has("--pq-subvectors") && v.pq == IvfConfig::Pq::kNone)
      usage_error("--pq-subvectors needs --pq 8 or 4");
    return v;
  }
  usage_error("--index: '" + kind + "' is not flat, hnsw or ivf");
}

}  // namespace

int run_create(std::span<char* const> argv) {
  Args args("create", argv, kSpecs);
  args.expect_positional(1, 1, "PATH");
  const std::filesystem::path path = args.positional()[0];
  if (!args.has("--dim")) usage_error("--dim N is required");
  const size_t dim = args.get_u64("--dim", 0, 1, Config::kMaxDim);
  const Metric metric = parse_metric_arg(args.get_or("--metric", "l2"));
  Config config(dim, metric);
  config.index(index_from_args(args));
  if (auto c = args.get("--compression")) config.compression(parse_compression(*c));
  const VectorStorage storage = storage_from_args(args);
  config.storage(storage);
  check(config.validate(), "invalid configuration");

  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    usage_error(path.string() + " already exists; remove it first or choose another path");
  }
  if (std::filesystem::exists(sibling(path, ".wal"), ec)) {
    usage_error(path.string() +
                ".wal exists (a damaged or half-removed database?); remove it first");
  }
  auto db = Database::open(path, config);
  if (!db.ok()) check(db.status(), "cannot create " + path.string(), Exit::kUsage);
  check(db->close(), "cannot write " + path.string(), Exit::kError);
  // What the file says, not what was asked for.
  const DatabaseInfo stored = read_shape(path);
  std::printf("created %s: dim %zu, metric %s, index %s, storage %s, compression %s\n",
              path.string().c_str(), dim, std::string(metric_name(metric)).c_str(),
              describe_index(config.index_kind()).c_str(),
              describe_storage(stored.storage, stored.sq8_trained).c_str(),
              compression_text(config.compression_kind()).c_str());
  if (!(stored.storage == storage)) {
    std::fprintf(stderr,
                 "iqdb create: warning: --storage %s%s was asked for, but this build "
                 "of the library stores the rows as %s\n",
                 storage_type_name(storage.type), storage.keep_f32 ? " --keep-f32" : "",
                 storage_type_name(stored.storage.type));
  }
  return 0;
}

}  // namespace iqdb::cli
